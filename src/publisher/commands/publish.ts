/**
 * `edgeflags publish FILE`: validate, lint, read the live snapshot, apply the guard rails against it
 * (lint ratchet, removals, unchanged document, risky changes called out), compile and sign, push as
 * the live version + 1, and wait until the worker serves it, timing every step. `--dry-run` stops
 * before the push. I/O: the file, the target, the worker's /healthz.
 */
import type { FlagsDocument } from "../../flags/types";
import type { ApprovalGroup } from "../../policy/approvals";
import { manifestOf } from "../../policy/manifest";
import type { LintOverride } from "../../snapshot/format";
import { resolveActor } from "../actor";
import { manifestDifferences, sameContent as sameManifest } from "../approvals";
import { type CliOptions, lintSettings } from "../config";
import { type ConfirmFlags, confirmSettings } from "../confirm";
import { diffDocuments, diffFlags } from "../diff";
import { expiryWarning } from "../expiry-warning";
import {
  applyOverrides,
  attention,
  type NotAllowed,
  notAllowedIn,
  ratchet,
  sameContent,
  unallowedRemovals,
} from "../guards/index";
import { LINT_RULES, type LintRule, lintDocument } from "../lint";
import { CliError, EXIT, type Output } from "../output";
import { checkProposal, type Proposal, readProposal } from "../proposal";
import type { FlagsSource, LocatedFinding } from "../source";
import { locateFindings } from "../source";
import { Timer } from "../timing";
import { type CommandContext, openSession } from "./context";
import { printDiff } from "./diff";
import { findingJson, lintSource, printFinding } from "./lint";
import {
  breakGlassReason,
  checkEnvironment,
  readLive,
  release,
  releaseExit,
  releaseJson,
  reportRelease,
} from "./release";
import { readValidSource } from "./validate";

export interface PublishOptions extends CliOptions, ConfirmFlags {
  message?: string;
  wait?: boolean;
  expiresIn?: string;
  /** Everything but the push. */
  dryRun?: boolean;
  /** Publish a document the live snapshot already serves. */
  force?: boolean;
  /** Let the publish remove every flag it removes. */
  allowRemovals?: boolean;
  /** Let the publish remove these flags (repeatable). */
  allowRemoval?: string[];
  /** Lint rules whose new errors do not block (repeatable; needs `reason`), recorded in the audit block. */
  allowLint?: string[];
  reason?: string;
  /** Percentage points a rollout may widen at once before it is called out. */
  maxStep?: string;
  /** Approved proposals of this very document (repeatable): their approvals are signed in. */
  proposal?: string[];
  /** Sign as an on-call key's break-glass without a policy saying so (needs `message`). */
  breakGlass?: boolean;
}

/** Percentage points of traffic a variant may gain at one serve before publish calls it out. */
export const DEFAULT_MAX_STEP = 25;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90m", "12h", "30d" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) {
    throw new CliError(EXIT.usage, `--expires-in takes a duration like 90m, 12h, 30d or 2w, got "${text}"`);
  }
  return Number(m[1]) * (UNITS[m[2] as string] as number) * 1000;
}

function parseMaxStep(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_STEP;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new CliError(EXIT.usage, `--max-step takes percentage points from 0 to 100, got "${text}"`);
  }
  return n;
}

/** The --allow-lint rules, checked: known names, and a reason to record with them. */
function parseAllowLint(rules: string[], reason: string | undefined): { rules: LintRule[]; reason: string } {
  const why = reason?.trim() ?? "";
  if (rules.length === 0) {
    if (why)
      throw new CliError(EXIT.usage, "--reason goes with --allow-lint RULE (for a note, use --message)");
    return { rules: [], reason: "" };
  }
  const unknown = rules.filter((r) => !(LINT_RULES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new CliError(
      EXIT.usage,
      `unknown lint rule ${unknown.map((r) => `"${r}"`).join(", ")} for --allow-lint; rules: ${LINT_RULES.join(", ")}`,
    );
  }
  if (!why) {
    throw new CliError(
      EXIT.usage,
      "--allow-lint needs --reason TEXT: the override is recorded in the audit block",
    );
  }
  return { rules: [...new Set(rules)] as LintRule[], reason: why };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function listed(keys: string[], max = 20): string {
  return keys.length <= max
    ? keys.join(", ")
    : `${keys.slice(0, max).join(", ")}, +${keys.length - max} more`;
}

/** How publish judged each lint finding. */
interface LintVerdict {
  blocked: LocatedFinding[];
  debt: LocatedFinding[];
  overridden: LocatedFinding[];
  overrides: LintOverride[];
}

/** Prints the findings in file order: new errors as errors, debt and overridden ones as warnings. */
function printLint(
  out: Output,
  findings: LocatedFinding[],
  v: LintVerdict,
  liveVersion: number | null,
): void {
  for (const f of findings) {
    if (v.debt.includes(f)) printFinding(out, f, "warning", "already live, not blocking");
    else if (v.overridden.includes(f)) printFinding(out, f, "warning", `allowed by --allow-lint ${f.rule}`);
    else if (v.blocked.includes(f) && liveVersion !== null)
      printFinding(out, f, "error", `new: not in live version ${liveVersion}`);
    else printFinding(out, f);
  }
  for (const o of v.overrides) {
    out.warning(
      `--allow-lint ${o.rule} lets ${plural(o.findings.length, "new finding")} through (${o.findings.join(", ")}), reason "${o.reason}": recorded in the signed audit block`,
    );
  }
}

function findingsJson(findings: LocatedFinding[], v: LintVerdict) {
  return findings.map((f) => ({
    ...findingJson(f),
    ...(f.severity !== "error"
      ? {}
      : { ratchet: v.debt.includes(f) ? "live" : v.overridden.includes(f) ? "allowed" : "new" }),
  }));
}

/**
 * Refuses (exit 1) a document with flags whose `environments` leave out `environment`, each named at
 * its `environments` line. The whole document is refused, not published without them: code reading a
 * dropped flag would silently get its fallback.
 */
export function refuseNotAllowed(
  out: Output,
  source: FlagsSource,
  environment: string,
  outcome = "nothing was published",
): void {
  const doc = source.document as FlagsDocument;
  const banned: NotAllowed[] = notAllowedIn(doc, environment);
  if (banned.length === 0) return;
  const placed = locateFindings(
    source,
    banned.map((b) => ({ ...b, path: ["flags", b.flag, "environments"] })),
  );
  const why = (b: NotAllowed) =>
    `flag "${b.flag}" is not allowed in environment "${environment}" (its environments: ${b.environments.join(", ")})`;
  for (const b of placed) {
    if (out.github) out.annotate("error", why(b), { file: b.file, line: b.line, column: b.column });
    else out.line(`${b.file}:${b.line}:${b.column}: ${out.paint(["bold", "red"], "error")}: ${why(b)}`);
  }
  out.result({
    ok: false,
    file: source.file,
    environment,
    notAllowed: placed.map((b) => ({ flag: b.flag, environments: b.environments, line: b.line })),
  });
  const names = banned.map((b) => `"${b.flag}"`).join(", ");
  throw new CliError(
    EXIT.problems,
    `${plural(banned.length, "flag")} (${names}) may not be published to environment "${environment}": add "${environment}" to ${banned.length === 1 ? "its" : "their"} environments or publish elsewhere; ${outcome}`,
  );
}

/**
 * The approval groups of `--proposal` files, each checked: not tampered with, for this environment,
 * and for exactly the document being published (the same digests); else exit 1 saying what differs.
 */
export async function proposalGroups(
  files: string[],
  proposals: Proposal[],
  doc: FlagsDocument,
  file: string,
  environment: string,
): Promise<ApprovalGroup[]> {
  if (files.length === 0) return [];
  const actual = await manifestOf(doc, { environment });
  const groups: ApprovalGroup[] = [];
  for (const [i, proposal] of proposals.entries()) {
    const name = files[i] as string;
    const { manifest } = await checkProposal(proposal, name);
    if (manifest.environment !== environment) {
      throw new CliError(
        EXIT.problems,
        `${name} is a proposal for environment "${manifest.environment}", this publish is for "${environment}": nothing was published`,
      );
    }
    if (!sameManifest(actual, manifest)) {
      const diffs = manifestDifferences(actual, manifest);
      throw new CliError(
        EXIT.problems,
        `${name} approves another document than ${file}, so nothing was published (run \`edgeflags propose ${file}\` and have it approved):\n${diffs.map((d) => `  ${d}`).join("\n")}`,
        { differences: diffs },
      );
    }
    groups.push(proposal.approval);
  }
  return groups;
}

/** Publishes a flags file through the guard rails; with --dry-run, stops before the push. */
export async function publishCommand(
  file: string,
  options: PublishOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  const expiresMs = options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn);
  const allow = parseAllowLint(options.allowLint ?? [], options.reason);
  const maxStep = parseMaxStep(options.maxStep);
  const dryRun = options.dryRun === true;
  const confirm = confirmSettings(options);
  const expiryNote = expiresMs === undefined ? undefined : expiryWarning(expiresMs);
  if (expiryNote) out.warning(expiryNote);
  const source = readValidSource(out, file, ctx.io.cwd, "nothing was published");
  const doc: FlagsDocument = source.document;
  timer.mark("validate");
  const now = Date.now();
  const lintOptions = lintSettings(options, ctx.io.env, ctx.io.cwd);
  const findings = lintSource(source, now, lintOptions);
  timer.mark("lint");
  const proposalFiles = options.proposal ?? [];
  const proposals = proposalFiles.map((f) => readProposal(f, ctx.io.cwd));

  const session = await openSession(ctx, options, true);
  try {
    refuseNotAllowed(out, source, session.settings.environment);
    const approved = await proposalGroups(proposalFiles, proposals, doc, file, session.settings.environment);
    const breakGlass = breakGlassReason(
      session,
      options.message,
      "--message TEXT",
      options.breakGlass === true,
    );
    const live = await readLive(session, out);
    timer.mark("read live");
    checkEnvironment(live, session.settings.environment);
    const before = live.payload?.flags;
    const liveVersion = live.payload?.version ?? null;

    // An unchanged document is not a new version (a re-sign with --expires-in is).
    if (sameContent(before, doc) && !options.force && expiresMs === undefined) {
      out.result({
        ok: true,
        file,
        published: false,
        unchanged: true,
        liveVersion,
        ...(dryRun ? { dryRun } : {}),
      });
      out.ok(
        `no changes: nothing ${dryRun ? "would be " : ""}published (live version ${liveVersion} has the same flags, segments and gates; --force publishes anyway)`,
      );
      return EXIT.ok;
    }

    // The ratchet: only lint errors this change introduces block; what is already live is debt.
    const { blocking, debt } = ratchet(findings, before ? lintDocument(before, now, lintOptions) : []);
    const verdict = { ...applyOverrides(blocking, allow.rules, allow.reason), debt };
    for (const rule of verdict.unused) {
      out.note(`--allow-lint ${rule}: this change adds no ${rule} error, nothing to allow (not recorded)`);
    }
    printLint(out, findings, verdict, liveVersion);

    const changes = diffDocuments(before, doc);
    const removals = unallowedRemovals(
      changes.removed,
      options.allowRemovals === true,
      options.allowRemoval ?? [],
    );
    for (const key of options.allowRemoval ?? []) {
      if (!changes.removed.includes(key))
        out.warning(`--allow-removal ${key}: this publish does not remove a flag "${key}"`);
    }
    const refusals: string[] = [];
    if (verdict.blocked.length > 0) {
      const against =
        liveVersion === null ? "nothing is live to compare with" : `not in live version ${liveVersion}`;
      refusals.push(`${plural(verdict.blocked.length, "new lint error")} in ${file} (${against})`);
      const rules = [...new Set(verdict.blocked.map((f) => f.rule))];
      out.line(
        `  fix ${verdict.blocked.length === 1 ? "it" : "them"}; if this cannot wait: --allow-lint ${rules.join(" --allow-lint ")} --reason "..." (recorded in the signed audit block)`,
      );
    }
    if (removals.length > 0) {
      refusals.push(
        `this would remove ${plural(removals.length, "flag")} that live version ${liveVersion} has (${listed(removals)}): if that is intended pass --allow-removals, or --allow-removal KEY for each; if not, check this is the right file`,
      );
    }
    if (refusals.length > 0) {
      out.result({
        ok: false,
        file,
        ...(dryRun ? { dryRun } : {}),
        liveVersion,
        findings: findingsJson(findings, verdict),
        ...(removals.length > 0 ? { removals } : {}),
      });
      throw new CliError(EXIT.problems, `${refusals.join("; ")}: nothing was published`);
    }

    const items = attention(before, doc, { now, maxStep });
    if (items.length > 0) {
      out.line(out.paint(["bold", "yellow"], "attention:"));
      for (const item of items) out.line(`  ${item.message}`);
    }
    const result = await release(
      session,
      {
        flags: doc,
        sourceDigest: source.digest,
        actor: resolveActor(session.settings.actor, ctx.io.cwd),
        message: options.message,
        expiresAt: expiresMs === undefined ? undefined : new Date(Date.now() + expiresMs).toISOString(),
        wait: options.wait !== false,
        ...(confirm ? { confirm } : {}),
        live,
        audit: { overrides: verdict.overrides },
        dryRun,
        proposals: approved,
        ...(breakGlass ? { breakGlass } : {}),
      },
      timer,
      out,
    );
    out.result({
      ...releaseJson(result, timer),
      file,
      warnings: findings.length,
      debt: debt.length,
      attention: items,
      ...(verdict.overrides.length > 0 ? { overrides: verdict.overrides } : {}),
    });
    if (result.dryRun) {
      printDiff(out, diffFlags(before, doc));
      const from = result.previousVersion === null ? "" : ` (was ${result.previousVersion})`;
      out.ok(
        `dry run: would publish version ${result.version}${from} to ${result.environment}: ${result.changes.text}; signed and checked, nothing was pushed`,
      );
      return EXIT.ok;
    }
    reportRelease(out, result, timer, "published");
    return releaseExit(result);
  } finally {
    await session.target.close();
  }
}
