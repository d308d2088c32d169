/**
 * `edgeflags status [PROPOSAL...]`: the live version (from the target, like diff), the trust policy in
 * short when one is configured, and for each proposal what it still needs - per item how many
 * approvals, who attests it, who can approve - or that it is ready to publish - and the version each
 * active location serves (the beacon's table, when the worker URL and publish token are set), and the
 * guards: trips and each guard's state. I/O: the live snapshot, the worker's location table and
 * guards, the proposal files (and the flags files they name,
 * to say when one changed since).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { decodeProtectedHeader } from "jose";
import { signatureKid } from "../../policy/approvals";
import type { CoverageReport } from "../../policy/check";
import type { LocationsView } from "../../signal/types";
import type { SnapshotPayload } from "../../snapshot/format";
import { carryApprovals } from "../approvals";
import type { CliOptions } from "../config";
import { parseActiveWithin, readLocations } from "../confirm";
import { printGuards, readGuards } from "../guard-state";
import { CliError, EXIT, formatMs, type Output } from "../output";
import {
  coverage,
  coverageJson,
  coverageLines,
  policyJson,
  policySummary,
  reportSigner,
  warnUnverifiable,
} from "../policy";
import { checkProposal, readProposal } from "../proposal";
import { digestOf } from "../source";
import { type CommandContext, openSession } from "./context";
import { configuredKid, printNeeds } from "./propose";
import { readLive } from "./release";

export interface StatusOptions extends CliOptions {
  signer?: string;
  /** Exit 1 when a proposal given is not ready to publish. */
  exitCode?: boolean;
  /** Versions per location: those seen within this duration (default 10m). */
  activeWithin?: string;
}

/** The location table as status reports it, or why it could not be read. */
type LocationsStatus =
  | (LocationsView & { error?: undefined })
  | { error: string; activeWithinSeconds: number; locations?: undefined };

/** Reads the location table; a worker without one (or no URL or token) is a note, not a failure. */
async function locationsStatus(
  url: string | undefined,
  token: string | undefined,
  activeWithinSeconds: number,
): Promise<LocationsStatus> {
  if (!url) return { error: "no worker URL configured (--url / EDGEFLAGS_URL)", activeWithinSeconds };
  if (!token) return { error: "no publish token (EDGEFLAGS_PUBLISH_TOKEN)", activeWithinSeconds };
  try {
    return await readLocations(url, token, activeWithinSeconds);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    return { error: err.message, activeWithinSeconds };
  }
}

/** The table on a terminal: location, version, time from the announcement, last report. */
function printLocations(out: Output, l: LocationsStatus, now: number): void {
  if (l.error !== undefined) {
    out.line(out.paint("dim", `versions per location: unknown (${l.error})`));
    return;
  }
  if (l.locations.length === 0) {
    out.line(`no location reported in the last ${l.activeWithinSeconds} s`);
    return;
  }
  out.line(
    `locations active in the last ${l.activeWithinSeconds} s (announced version ${l.version ?? "none"}):`,
  );
  const rows = [
    ["LOCATION", "VERSION", "SERVED AFTER", "LAST REPORT"],
    ...l.locations.map((e) => [
      e.location,
      String(e.version) + (e.version === l.version ? "" : " (behind)"),
      e.lagMs === null ? "-" : formatMs(e.lagMs),
      `${Math.max(0, Math.round((now - Date.parse(e.reportedAt)) / 1000))} s ago`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const [i, r] of rows.entries()) {
    const text = r
      .map((cell, j) => cell.padEnd(widths[j] ?? 0))
      .join("  ")
      .trimEnd();
    out.line(`  ${i === 0 ? out.paint("dim", text) : text}`);
  }
}

interface ProposalStatus {
  proposal: string;
  ok: boolean;
  /** ready | pending | refused | unknown (no policy to tell) */
  state: "ready" | "pending" | "refused" | "unknown";
  environment?: string;
  signers?: string[];
  baseVersion?: number | null;
  notes: string[];
  coverage?: ReturnType<typeof coverageJson>;
  error?: string;
  report?: CoverageReport;
}

/** The kid a compact JWS names (unverified: the target verified it). */
function kidOf(jws: string | null): string | undefined {
  if (!jws) return undefined;
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}

export async function statusCommand(
  files: string[],
  options: StatusOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const activeWithin = parseActiveWithin(options.activeWithin);
  const session = await openSession(ctx, options, "if-set");
  try {
    const { settings, policy } = session;
    const environment = settings.environment;
    const live = await readLive(session, out);
    const payload: SnapshotPayload | undefined = live.payload;
    const liveSigners = [
      ...new Set((payload?.approvals ?? []).flatMap((g) => g.signatures.map((s) => signatureKid(s) ?? "?"))),
    ].sort();
    if (policy) warnUnverifiable(out, policy, session.keys);
    const signer = policy
      ? reportSigner(policy.policy, options.signer, await configuredKid(session))
      : undefined;

    // Whether the live snapshot itself passes this policy (what a worker with it would do on a load):
    // worth knowing before deploying a changed policy, a revocation above all.
    const liveSigner = kidOf(live.jws);
    const liveReport =
      policy && payload && liveSigner
        ? await coverage({
            doc: payload.flags,
            environment,
            signer: liveSigner,
            groups: payload.approvals ?? [],
            breakGlassReason: payload.audit?.breakGlass?.reason,
            loaded: policy,
            keys: session.keys,
            live: payload.flags,
          })
        : undefined;

    const [locations, guards] = await Promise.all([
      locationsStatus(settings.url, settings.publishToken, activeWithin),
      readGuards(settings.url, settings.statsToken ?? settings.publishToken),
    ]);
    const statuses: ProposalStatus[] = [];
    for (const file of files) statuses.push(await proposalStatus(file));

    out.result({
      ok: true,
      environment,
      live: payload
        ? {
            version: payload.version,
            issuedAt: payload.issuedAt,
            kid: kidOf(live.jws) ?? null,
            approvalGroups: payload.approvals?.length ?? 0,
            approvedBy: liveSigners,
            ...(liveReport ? { policy: coverageJson(liveReport) } : {}),
          }
        : null,
      ...(policy
        ? { policy: policyJson(policy.policy), policySource: policy.source, signer }
        : { policy: null }),
      proposals: statuses.map(({ report: _report, ...s }) => s),
      locations:
        locations.error === undefined
          ? {
              activeWithinSeconds: locations.activeWithinSeconds,
              version: locations.version,
              announcedAt: locations.announcedAt,
              entries: locations.locations,
            }
          : { activeWithinSeconds: locations.activeWithinSeconds, error: locations.error },
      guards:
        guards.error === undefined
          ? {
              version: guards.version,
              gen: guards.gen,
              trips: guards.trips,
              guards: guards.guards,
              webhook: guards.webhook,
            }
          : { error: guards.error },
    });

    if (payload) {
      const by = kidOf(live.jws);
      out.line(
        `${out.paint("bold", environment)}: version ${payload.version} live on ${session.target.where}, issued ${payload.issuedAt}${by ? ` by ${by}` : ""}${payload.audit?.actor ? ` (${payload.audit.actor})` : ""}`,
      );
      if (liveSigners.length > 0) {
        out.line(`  approvals carried: ${liveSigners.join(", ")} (${payload.approvals?.length} group(s))`);
      }
    } else {
      out.line(`${out.paint("bold", environment)}: nothing published on ${session.target.where}`);
    }
    if (liveReport?.ok) out.line("  passes the trust policy below");
    else if (liveReport) {
      out.line(
        `  ${out.paint(["bold", "red"], "fails the trust policy below")}: a worker with it refuses this snapshot at its next load`,
      );
      for (const line of coverageLines(liveReport)) out.line(`    ${line}`);
    }
    if (policy) {
      out.line(`trust policy (${policy.source}):`);
      for (const line of policySummary(policy.policy)) out.line(`  ${line}`);
    } else {
      out.line(
        out.paint("dim", "no trust policy configured (--policy, EDGEFLAGS_POLICY_FILE or policyFile)"),
      );
    }
    printLocations(out, locations, Date.now());
    printGuards(out, guards, locations.error === undefined ? locations : undefined);
    for (const s of statuses) {
      const head = `${s.proposal}:`;
      if (s.state === "refused") out.line(`${out.paint(["bold", "red"], head)} ${s.error}`);
      else if (s.state === "ready") {
        out.line(
          `${out.paint(["bold", "green"], head)} ready to publish (with key ${signer}); signed by ${s.signers?.join(", ") || "nobody yet"}`,
        );
      } else if (s.state === "unknown") {
        out.line(
          `${out.paint("bold", head)} signed by ${s.signers?.join(", ") || "nobody yet"}; no policy to say whether that is enough`,
        );
      } else {
        out.line(
          `${out.paint(["bold", "yellow"], head)} pending (publishing with key ${signer}); signed by ${s.signers?.join(", ") || "nobody yet"}`,
        );
      }
      if (s.report) printNeeds(out, s.report);
      for (const n of s.notes) out.line(`  ${out.paint("dim", n)}`);
    }
    const notReady = statuses.some((s) => s.state !== "ready");
    return options.exitCode && notReady ? EXIT.problems : EXIT.ok;

    async function proposalStatus(file: string): Promise<ProposalStatus> {
      const notes: string[] = [];
      try {
        const proposal = readProposal(file, ctx.io.cwd);
        await checkProposal(proposal, file);
        const signers = proposal.approval.signatures.map((s) => signatureKid(s) ?? "?");
        const baseVersion = proposal.base?.version ?? null;
        const common = { proposal: file, environment: proposal.environment, signers, baseVersion, notes };
        if (proposal.environment !== environment) {
          return {
            ...common,
            ok: false,
            state: "refused",
            error: `for environment "${proposal.environment}", not "${environment}" (pass --env ${proposal.environment})`,
          };
        }
        if (baseVersion !== (payload?.version ?? null)) {
          notes.push(
            `proposed against version ${baseVersion ?? "none"}, live is ${payload?.version ?? "none"}: its diff may be stale (\`edgeflags propose\` again refreshes it and keeps the approvals)`,
          );
        }
        const sourcePath = resolve(dirname(resolve(ctx.io.cwd, file)), proposal.source.path);
        try {
          if (digestOf(readFileSync(sourcePath, "utf8")) !== proposal.source.digest) {
            notes.push(
              `${proposal.source.path} changed since it was proposed: run \`edgeflags propose\` again`,
            );
          }
        } catch {
          notes.push(`${proposal.source.path} (its flags file) is not here to compare`);
        }
        if (!policy || signer === undefined) return { ...common, ok: true, state: "unknown" };
        const carried = await carryApprovals({
          doc: proposal.document,
          environment,
          groups: [proposal.approval, ...(payload?.approvals ?? [])],
          keys: session.keys,
          live: payload?.flags,
        });
        const report = await coverage({
          doc: proposal.document,
          environment,
          signer,
          groups: carried.groups,
          loaded: policy,
          keys: session.keys,
          live: payload?.flags,
        });
        return {
          ...common,
          ok: report.ok,
          state: report.ok ? "ready" : "pending",
          coverage: coverageJson(report),
          report,
        };
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        return { proposal: file, ok: false, state: "refused", notes, error: err.message };
      }
    }
  } finally {
    await session.target.close();
  }
}
