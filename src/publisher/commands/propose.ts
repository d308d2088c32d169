/**
 * `edgeflags propose FILE`: validates a flags file, diffs it against the live snapshot and writes a
 * proposal (src/publisher/proposal.ts) whose approval group approvers sign with `edgeflags approve`;
 * with a trust policy configured, says what needs whose approval. Running it again on an unchanged
 * document keeps the approvals already collected. I/O: the flags file, the live snapshot, the
 * proposal file.
 */
import { existsSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { decodeManifest } from "../../policy/approvals";
import type { CoverageReport } from "../../policy/check";
import { groupOf, manifestOf } from "../../policy/manifest";
import { carryApprovals, coversRemovals, sameContent } from "../approvals";
import type { CliOptions } from "../config";
import { diffFlags, isEmptyDiff, summarize } from "../diff";
import { loadPrivateKey } from "../keys";
import { CliError, EXIT, type Output } from "../output";
import {
  type CoverageCheck,
  coverage,
  coverageJson,
  coverageLines,
  removalsOf,
  reportSigner,
  warnUnverifiable,
} from "../policy";
import {
  defaultProposalPath,
  PROPOSAL_FORMAT,
  type Proposal,
  readProposal,
  writeProposal,
} from "../proposal";
import { renderDiff } from "../render-diff";
import { type CommandContext, openSession, type Session } from "./context";
import { printDiff } from "./diff";
import { refuseNotAllowed } from "./publish";
import { checkEnvironment, readLive } from "./release";
import { readValidSource } from "./validate";

export interface ProposeOptions extends CliOptions {
  out?: string;
  note?: string;
  /** The key that will publish, for what the report says it covers itself. */
  signer?: string;
}

/** The kid of the configured signing key, when one is configured and loads; else undefined. */
export async function configuredKid(session: Session): Promise<string | undefined> {
  if (session.key) return session.key.signer.kid;
  if (!session.settings.privateKey) return undefined;
  try {
    return (await loadPrivateKey(session.settings)).signer.kid;
  } catch {
    return undefined;
  }
}

/** Prints what a coverage report says each item still needs, then what is approved already. */
export function printNeeds(out: Output, report: CoverageReport, indent = "  "): void {
  for (const line of coverageLines(report)) out.line(`${indent}${line}`);
  const attested = report.items.filter((it) => it.ok && it.needs > 0);
  if (attested.length > 0) {
    const shown = attested.slice(0, 10).map((it) => `${it.item} (${it.by.join(", ")})`);
    const more = attested.length > shown.length ? `, +${attested.length - shown.length} more` : "";
    out.line(`${indent}${out.paint("dim", `already approved: ${shown.join(", ")}${more}`)}`);
  }
}

/** A path relative to `from`'s folder, with `/` (what a proposal records). */
const relativeTo = (from: string, path: string) => relative(dirname(from), path).split(sep).join("/");

export async function proposeCommand(
  file: string,
  options: ProposeOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const source = readValidSource(out, file, ctx.io.cwd, "nothing was proposed");
  const doc = source.document;
  const outPath = options.out
    ? resolve(ctx.io.cwd, options.out)
    : defaultProposalPath(resolve(ctx.io.cwd, file));
  const shownPath = options.out ?? relative(ctx.io.cwd, outPath);
  const session = await openSession(ctx, options, "if-set");
  try {
    const { settings } = session;
    const environment = settings.environment;
    // What publish would refuse is not worth approving: a flag not allowed in this environment.
    refuseNotAllowed(out, source, environment, "nothing was proposed");
    const live = await readLive(session, out);
    checkEnvironment(live, environment);
    const base = live.payload ?? undefined;
    const diff = diffFlags(base?.flags, doc);
    const note = options.note?.trim() || undefined;
    const removals = removalsOf(base?.flags, doc);
    const manifest = await manifestOf(doc, { environment, ...removals, ...(note ? { note } : {}) });

    // An earlier proposal of the same document (approving at least the deletions this one makes)
    // keeps its group, and so its signatures.
    const earlier = existsSync(outPath) ? readEarlier(outPath, out) : undefined;
    const earlierManifest = earlier ? decodeManifest(earlier.approval) : undefined;
    const reuse =
      earlier !== undefined &&
      earlierManifest !== undefined &&
      earlierManifest.environment === environment &&
      sameContent(earlierManifest, manifest) &&
      coversRemovals(earlierManifest, manifest);
    if (earlier && !reuse && earlier.approval.signatures.length > 0) {
      out.warning(
        `${shownPath} held ${earlier.approval.signatures.length} approval(s) of another document (or environment): they are dropped, the new document needs its own`,
      );
    }
    const approval = reuse ? (earlier as Proposal).approval : groupOf(manifest);
    const upToDate =
      reuse &&
      earlier.source.digest === source.digest &&
      (earlier.base?.version ?? null) === (base?.version ?? null) &&
      (earlier.note ?? undefined) === note;
    const proposal: Proposal = upToDate
      ? (earlier as Proposal)
      : {
          format: PROPOSAL_FORMAT,
          environment,
          createdAt: new Date().toISOString(),
          ...(note ? { note } : {}),
          source: { path: relativeTo(outPath, resolve(ctx.io.cwd, file)), digest: source.digest },
          base:
            base && live.jws ? { version: base.version, issuedAt: base.issuedAt, snapshot: live.jws } : null,
          changes: summarize(diff),
          diff: renderDiff(diff),
          document: doc,
          approval,
        };
    if (!upToDate) writeProposal(outPath, proposal);

    // What it needs: the proposal's group with what publishing would carry from live.
    let report: CoverageReport | undefined;
    let signer: string | undefined;
    if (session.policy) {
      warnUnverifiable(out, session.policy, session.keys);
      signer = reportSigner(session.policy.policy, options.signer, await configuredKid(session));
      const carried = await carryApprovals({
        doc,
        environment,
        groups: [approval, ...(base?.approvals ?? [])],
        keys: session.keys,
        live: base?.flags,
      });
      const check: CoverageCheck = {
        doc,
        environment,
        signer,
        groups: carried.groups,
        loaded: session.policy,
        keys: session.keys,
        live: base?.flags,
      };
      report = await coverage(check);
    }

    const changed = !isEmptyDiff(diff);
    out.result({
      ok: true,
      file,
      proposal: shownPath,
      written: !upToDate,
      environment,
      liveVersion: base?.version ?? null,
      changed,
      changes: proposal.changes,
      approvals: approval.signatures.length,
      ...(report ? { signer, coverage: coverageJson(report), ready: report.ok } : {}),
    });
    const against = base
      ? `version ${base.version} live on ${session.target.where}`
      : `${session.target.where} (nothing published yet)`;
    out.line(out.paint("bold", `${file} against ${against}:`));
    if (!changed) out.line("no changes");
    else printDiff(out, diff);
    const kept =
      reuse && approval.signatures.length > 0
        ? `, keeping its ${approval.signatures.length} approval(s)`
        : "";
    out.ok(
      upToDate
        ? `${shownPath} is up to date (${approval.signatures.length} approval(s))`
        : `wrote ${shownPath} for ${environment}${kept}`,
    );
    if (report && signer !== undefined) {
      if (report.ok) {
        out.line(`ready to publish with key ${signer}: the trust policy needs no more approvals`);
        printNeeds(out, report);
      } else {
        out.line(`approvals needed (trust policy ${session.policy?.source}; publishing with key ${signer}):`);
        printNeeds(out, report);
      }
    } else {
      out.line(
        out.paint(
          "dim",
          "no trust policy configured (--policy, EDGEFLAGS_POLICY_FILE or policyFile): cannot say who must approve",
        ),
      );
    }
    if (!report?.ok) {
      out.line(
        `next: approvers run \`edgeflags approve ${shownPath} --key THEIR_KEY\`; then \`edgeflags publish ${file} --proposal ${shownPath}\``,
      );
    } else {
      out.line(`next: \`edgeflags publish ${file} --proposal ${shownPath}\``);
    }
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}

/** The proposal already at `path`, or undefined (with a warning) when it is not one. */
function readEarlier(path: string, out: Output): Proposal | undefined {
  try {
    return readProposal(path, "/");
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    out.warning(`${err.message}: replacing it`);
    return undefined;
  }
}
