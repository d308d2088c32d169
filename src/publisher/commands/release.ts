/**
 * The part publish, rollback, kill and unkill share: a new version on top of the live one (the newest
 * that verifies: a poisoned `current` in KV is reported and passed over), the change summary, sign
 * (checked as the worker would), push (not on a dry run), and wait until /healthz serves it, timing
 * each step. I/O through the target and the health poll.
 */
import type { FlagsDocument } from "../../flags/types";
import { type ApprovalGroup, signatureKid } from "../../policy/approvals";
import type { CoverageReport } from "../../policy/check";
import { approveGroup, groupOf, manifestOf } from "../../policy/manifest";
import type { ChangeSummary, SnapshotAudit, SnapshotPayload } from "../../snapshot/format";
import { carryApprovals } from "../approvals";
import { type Confirmation, type ConfirmSettings, confirmEverywhere, reportConfirmation } from "../confirm";
import { diffDocuments } from "../diff";
import { CliError, EXIT, formatMs, type Output } from "../output";
import {
  coverage,
  coverageJson,
  coverageLines,
  isBreakGlassKey,
  type LoadedPolicy,
  removalsOf,
  warnUnverifiable,
} from "../policy";
import { printSummary } from "../render-diff";
import { buildSnapshot, decodeSnapshot } from "../snapshot";
import type { PushOutcome } from "../targets/index";
import type { Timer } from "../timing";
import { waitUntilLive } from "../wait";
import type { Session } from "./context";

export interface ReleaseInput {
  flags: FlagsDocument;
  sourceDigest: string;
  actor: string;
  message?: string;
  expiresAt?: string;
  wait: boolean;
  /** The live snapshot, if the caller already read it (kill, rollback); else it is read here. */
  live?: LiveRead;
  /** Signed into the audit block next to actor, message and changes: overrides, killed flags. */
  audit?: Pick<SnapshotAudit, "overrides" | "killed">;
  /** Sign and check the snapshot, then stop: nothing is pushed (`publish --dry-run`). */
  dryRun?: boolean;
  /**
   * Approval groups of proposals for exactly `flags` (`publish --proposal`): carried first, and the
   * signing key's own signature is added to the first of them.
   */
  proposals?: ApprovalGroup[];
  /** Other groups to carry before the live snapshot's (rollback: the old version's own). */
  earlier?: ApprovalGroup[];
  /** Set when an on-call key signs alone (see `breakGlassReason`): recorded as audit.breakGlass. */
  breakGlass?: string;
  /**
   * Extra lines explaining why the policy refuses some items (kill: a flag whose prerequisite it
   * disables); called with the items that fail.
   */
  explain?: (report: CoverageReport) => string[];
  /** `--confirm all`: after /healthz, wait until every active location serves the version. */
  confirm?: ConfirmSettings;
}

/** The snapshot to build on, as `readLive` found it. */
export interface LiveRead {
  /** The newest snapshot that verifies (checked by the worker, or by this publisher for KV targets). */
  jws: string | null;
  payload: SnapshotPayload | undefined;
  /** The version a publish must exceed, when the target knows one. */
  floor?: number;
  /** What was wrong with `current` in KV, as printed. */
  warning?: string;
}

export interface ReleaseResult {
  environment: string;
  version: number;
  previousVersion: number | null;
  changes: ChangeSummary;
  /** Whether /healthz was seen serving the new version. */
  confirmed: boolean;
  /** Signed and checked but not pushed (`--dry-run`): `version` is the one it would have been. */
  dryRun?: boolean;
  /** From the end of the push until the worker's /healthz served the new version, ms. */
  servedAfterMs?: number;
  /** The worker's version-signal interval, when on: other locations follow within ~1.5 of it. */
  signalIntervalSeconds?: number | null;
  /** Whether the version beacon was told (see PushOutcome). */
  signal?: PushOutcome["signal"];
  /** What was found in KV without authority and passed over or replaced. */
  warnings?: string[];
  /** The approval groups signed into the snapshot: how many, and whose signatures they carry. */
  approvals: { groups: number; signers: string[] };
  /** The trust policy's verdict, checked here before the push (when a policy is configured). */
  policy?: ReturnType<typeof coverageJson>;
  /** The on-call key's reason, when the snapshot is a break-glass. */
  breakGlass?: string;
  /** `--confirm all`: each active location's version and time, and the stragglers. */
  confirmation?: Confirmation;
}

/** The warning for a `current` in KV that is not the snapshot to build on (`code` says why). */
function currentWarning(code: string, version: number | undefined, directKv: boolean): string {
  const what =
    code === "ERR_SNAPSHOT_MISSING"
      ? "is missing"
      : code === "ERR_SNAPSHOT_ROLLBACK"
        ? "is an older version"
        : "does not verify";
  const found =
    version === undefined
      ? ", and no published version verifies"
      : `: using version ${version}, the newest that verifies`;
  // A direct-KV target verifies with this publisher's keys only; a teammate's key may be missing.
  const hint =
    directKv && code === "ERR_SNAPSHOT_KID_UNKNOWN"
      ? " (if a key this publisher does not know signed it, set EDGEFLAGS_PUBLIC_KEYS to the worker's JWKS)"
      : "";
  return `current in KV ${what} (${code})${found}${hint}`;
}

/**
 * Reads the snapshot to build on: the newest that verifies, as the target found it. When `current`
 * in KV is not it, says so (a warning on stderr) and carries on from what verifies.
 */
export async function readLive(session: Session, out: Output): Promise<LiveRead> {
  const live = await session.target.live();
  const payload = live.jws === null ? undefined : decodeSnapshot(live.jws);
  const warning = live.currentProblem
    ? currentWarning(live.currentProblem, payload?.version, session.settings.target !== "worker")
    : undefined;
  if (warning) out.warning(warning);
  return {
    jws: live.jws,
    payload,
    ...(live.floor !== undefined ? { floor: live.floor } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** Refuses to build on a live snapshot of another environment (the worker would refuse the push). */
export function checkEnvironment(live: LiveRead, environment: string): void {
  if (live.payload && live.payload.environment !== environment) {
    throw new CliError(
      EXIT.problems,
      `the live snapshot is for environment "${live.payload.environment}", not "${environment}": pass --env ${live.payload.environment}`,
    );
  }
}

/**
 * Signs `input.flags` as live version + 1 and checks it as the worker would; then, unless it is a
 * dry run, pushes it and confirms it is served.
 */
export async function release(
  session: Session,
  input: ReleaseInput,
  timer: Timer,
  out: Output,
): Promise<ReleaseResult> {
  const { settings, key, target } = session;
  if (!key) throw new CliError(EXIT.usage, "no private key loaded");
  if (input.confirm && !input.dryRun) {
    // Said before anything is pushed: a usage error must not leave a published version behind.
    const missing = !input.wait
      ? "the wait (drop --no-wait)"
      : !settings.url
        ? "the worker URL (--url / EDGEFLAGS_URL)"
        : !settings.publishToken
          ? "the publish token (EDGEFLAGS_PUBLISH_TOKEN), to read the locations"
          : undefined;
    if (missing) throw new CliError(EXIT.usage, `--confirm all needs ${missing}: nothing was published`);
  }
  const live = input.live ?? (await readLive(session, out));
  if (!input.live) timer.mark("read live");
  checkEnvironment(live, settings.environment);
  const previousVersion = live.payload?.version ?? null;
  // Above the floor too: the worker may know a newer verified version than the snapshot it returned.
  const version = Math.max(previousVersion ?? 0, live.floor ?? 0) + 1;
  const changes = diffDocuments(live.payload?.flags, input.flags);
  const approvals = await approvalsFor(session, input, live);
  const { jws } = await buildSnapshot({
    flags: input.flags,
    environment: settings.environment,
    version,
    sourceDigest: input.sourceDigest,
    audit: {
      actor: input.actor,
      ...(input.message ? { message: input.message } : {}),
      changes,
      ...(input.audit?.overrides?.length ? { overrides: input.audit.overrides } : {}),
      ...(input.audit?.killed?.length ? { killed: input.audit.killed } : {}),
      ...(input.breakGlass ? { breakGlass: { reason: input.breakGlass } } : {}),
    },
    expiresAt: input.expiresAt,
    approvals: approvals.groups,
    key,
    now: Date.now(),
  });
  timer.mark("sign");
  const approvalInfo = {
    groups: approvals.groups.length,
    signers: [
      ...new Set(approvals.groups.flatMap((g) => g.signatures.map((s) => signatureKid(s) ?? "?"))),
    ].sort(),
  };
  const verdict = session.policy
    ? await checkPolicy(session, session.policy, input, live, approvals.groups, out)
    : undefined;
  if (verdict) timer.mark("policy");
  const extra = {
    approvals: approvalInfo,
    ...(verdict ? { policy: verdict } : {}),
    ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
  };
  if (input.dryRun) {
    const warnings = live.warning ? [live.warning] : [];
    return {
      environment: settings.environment,
      version,
      previousVersion,
      changes,
      confirmed: false,
      dryRun: true,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...extra,
    };
  }
  out.note(`pushing version ${version} to ${target.where} (${changes.text})`);
  const { signal, warnings: replaced = [] } = await target.push(jws).catch((err: unknown) => {
    throw policyRefusal(err, session, input);
  });
  timer.mark("push");
  for (const w of replaced) out.warning(w);
  const warnings = [...(live.warning ? [live.warning] : []), ...replaced];
  if (signal && signal.status !== "announced") {
    out.warning(
      `the version signal was not updated (${signal.status}${signal.message ? `: ${signal.message}` : ""}); other locations follow with KV, within a minute or more`,
    );
  }
  const result: ReleaseResult = {
    environment: settings.environment,
    version,
    previousVersion,
    changes,
    confirmed: false,
    signal,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...extra,
  };
  if (!input.wait) {
    out.note("not waiting for the worker to serve it (--no-wait)");
  } else if (!settings.url) {
    out.note("no worker URL configured (--url / EDGEFLAGS_URL): cannot confirm it is served");
  } else {
    const pushedAt = performance.now();
    const live = await waitUntilLive(settings.url, settings.environment, version, settings.waitTimeoutMs, {
      progress: (label) => out.progress(label),
    });
    result.servedAfterMs = performance.now() - pushedAt;
    result.signalIntervalSeconds = live.signalIntervalSeconds;
    timer.mark("live");
    result.confirmed = true;
    if (input.confirm) {
      result.confirmation = await confirmEverywhere(
        settings.url,
        settings.publishToken,
        version,
        input.confirm,
        out,
      );
      timer.mark("confirm");
    }
  }
  return result;
}

/**
 * The break-glass reason to record when the signing key is an on-call key (by the policy, or said
 * with `--break-glass` where there is no policy): it signs alone only with a reason, given as `how`.
 * Undefined for any other key.
 */
export function breakGlassReason(
  session: Session,
  reason: string | undefined,
  how: string,
  forced = false,
): string | undefined {
  const kid = session.key?.signer.kid;
  const byPolicy =
    session.policy !== undefined && kid !== undefined && isBreakGlassKey(session.policy.policy, kid);
  if (!byPolicy && !forced) return undefined;
  const why = reason?.trim();
  if (!why) {
    const whose = byPolicy ? `key ${kid} is an on-call key in the policy` : "--break-glass";
    throw new CliError(
      EXIT.usage,
      `${whose}: a snapshot an on-call key signs alone is a break-glass and must say why: pass ${how} (recorded as audit.breakGlass)`,
    );
  }
  return why;
}

/**
 * The approval groups the new snapshot carries: the proposals' (with the signing key's signature
 * added to the first), or, under a policy, a fresh group of the whole document signed by the signing
 * key, so that its attestation outlives this publish; then the earlier ones given and the live snapshot's, as far as
 * they still attest something (src/publisher/approvals.ts). A break-glass (an on-call key) signs no
 * group: its signature attests nothing.
 */
async function approvalsFor(session: Session, input: ReleaseInput, live: LiveRead) {
  const { key, settings } = session;
  if (!key) throw new CliError(EXIT.usage, "no private key loaded");
  // Without a policy here, nor approvals live or proposed, nothing counts approvals: the snapshot
  // stays as small as it was (a group covers every flag, about 160 KB per 1,000).
  const underPolicy =
    session.policy !== undefined ||
    (live.payload?.approvals?.length ?? 0) > 0 ||
    (input.proposals?.length ?? 0) > 0;
  const attests =
    underPolicy &&
    !input.breakGlass &&
    !(session.policy && isBreakGlassKey(session.policy.policy, key.signer.kid));
  const own: ApprovalGroup[] = [];
  const proposals = [...(input.proposals ?? [])];
  if (attests) {
    const first = proposals.shift();
    const group =
      first ??
      groupOf(
        await manifestOf(input.flags, {
          environment: settings.environment,
          ...removalsOf(live.payload?.flags, input.flags),
          ...(input.message ? { note: input.message } : {}),
        }),
      );
    own.push(await approveGroup(group, key.signer));
  }
  return carryApprovals({
    doc: input.flags,
    environment: settings.environment,
    groups: [...own, ...proposals, ...(input.earlier ?? []), ...(live.payload?.approvals ?? [])],
    keys: session.keys,
    live: live.payload?.flags,
  });
}

/**
 * The worker's policy check, run here before anything is pushed: exit 1 with what each item still
 * needs when the worker would refuse the snapshot.
 */
async function checkPolicy(
  session: Session,
  loaded: LoadedPolicy,
  input: ReleaseInput,
  live: LiveRead,
  groups: ApprovalGroup[],
  out: Output,
): Promise<ReturnType<typeof coverageJson>> {
  const kid = (session.key as NonNullable<Session["key"]>).signer.kid;
  warnUnverifiable(out, loaded, session.keys);
  const report = await coverage({
    doc: input.flags,
    environment: session.settings.environment,
    signer: kid,
    groups,
    breakGlassReason: input.breakGlass,
    loaded,
    keys: session.keys,
    live: live.payload?.flags,
  });
  if (report.ok) return coverageJson(report);
  const lines = [...coverageLines(report), ...(input.explain?.(report) ?? [])];
  throw new CliError(
    EXIT.problems,
    `the trust policy (${loaded.source}) would refuse this snapshot signed by ${kid}, so nothing was pushed:\n${lines.map((l) => `  ${l}`).join("\n")}`,
    { policy: coverageJson(report) },
  );
}

/** A push the worker refused under its trust policy, said with what to do about it. */
function policyRefusal(err: unknown, session: Session, input: ReleaseInput): unknown {
  if (!(err instanceof CliError) || err.details?.code !== "ERR_SNAPSHOT_POLICY") return err;
  const detail = String(err.details.message ?? err.message).replace(
    /^snapshot refused by the trust policy: /,
    "",
  );
  const problems = detail.split("; ");
  const hint = session.policy
    ? `it passed the check here against ${session.policy.source}: the worker's EDGEFLAGS_POLICY or EDGEFLAGS_PUBLIC_KEYS differ from this publisher's`
    : /on-call key/.test(detail) && !input.breakGlass
      ? "an on-call key signs alone only as a break-glass: configure the policy (--policy FILE, EDGEFLAGS_POLICY_FILE or policyFile) or pass --break-glass, with --reason"
      : "configure the policy the worker has (--policy FILE, EDGEFLAGS_POLICY_FILE or policyFile) to see what is missing before a push";
  return new CliError(
    EXIT.problems,
    `the worker's trust policy refused the snapshot [ERR_SNAPSHOT_POLICY], nothing changed:\n${problems.map((p) => `  ${p}`).join("\n")}\n  (${hint})`,
    err.details,
  );
}

/** The human report after a release: what went live and how long each step took. */
export function reportRelease(out: Output, result: ReleaseResult, timer: Timer, verb: string): void {
  const from = result.previousVersion === null ? "" : ` (was ${result.previousVersion})`;
  const state = result.confirmed ? "live" : "stored";
  out.ok(
    `${verb} version ${result.version}${from} to ${result.environment}: ${state}, ${result.changes.text}`,
  );
  printSummary(out, result.changes);
  const total = timer.total();
  const steps = timer.steps.map((s) => `${s.step} ${formatMs(s.ms)}`).join(", ");
  out.line(`  ${out.paint("dim", `${steps}; total ${formatMs(total)}`)}`);
  if (result.breakGlass) out.line(`  break-glass by an on-call key: "${result.breakGlass}"`);
  if (result.policy) {
    const { groups, signers } = result.approvals;
    out.line(
      `  trust policy: passed; approvals signed in: ${signers.join(", ") || "none"} (${groups} group${groups === 1 ? "" : "s"})`,
    );
  }
  if (result.servedAfterMs !== undefined) {
    // /healthz answers from the nearest location only; the rest follow the signal (or KV).
    const elsewhere =
      typeof result.signalIntervalSeconds === "number"
        ? `other locations within ~${result.signalIntervalSeconds * 1.5} s (version signal every ${result.signalIntervalSeconds} s)`
        : "other locations as KV propagates (a minute or more: the worker has no version signal)";
    out.line(`  served ${formatMs(result.servedAfterMs)} after the push; ${elsewhere}`);
  }
  if (result.confirmation) reportConfirmation(out, result.confirmation);
}

/** A release's exit code: 4 (`EXIT.unconfirmed`) when `--confirm all` found stragglers. */
export function releaseExit(result: ReleaseResult): typeof EXIT.ok | typeof EXIT.unconfirmed {
  return result.confirmation && !result.confirmation.ok ? EXIT.unconfirmed : EXIT.ok;
}

/** The --json shape of a release. */
export function releaseJson(result: ReleaseResult, timer: Timer): Record<string, unknown> {
  return {
    ok: result.confirmation?.ok ?? true,
    ...result,
    steps: timer.steps.map((s) => ({ step: s.step, ms: Math.round(s.ms * 10) / 10 })),
    totalMs: Math.round(timer.total() * 10) / 10,
  };
}
