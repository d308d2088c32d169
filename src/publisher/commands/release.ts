/**
 * The part publish, rollback, kill and unkill share: a new version on top of the live one (the newest
 * that verifies: a poisoned `current` in KV is reported and passed over), the change summary, sign
 * (checked as the worker would), push (not on a dry run), and wait until /healthz serves it, timing
 * each step. I/O through the target and the health poll.
 */
import type { FlagsDocument } from "../../flags/types";
import type { ChangeSummary, SnapshotAudit, SnapshotPayload } from "../../snapshot/format";
import { diffDocuments } from "../diff";
import { CliError, EXIT, formatMs, type Output } from "../output";
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
  const live = input.live ?? (await readLive(session, out));
  if (!input.live) timer.mark("read live");
  checkEnvironment(live, settings.environment);
  const previousVersion = live.payload?.version ?? null;
  // Above the floor too: the worker may know a newer verified version than the snapshot it returned.
  const version = Math.max(previousVersion ?? 0, live.floor ?? 0) + 1;
  const changes = diffDocuments(live.payload?.flags, input.flags);
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
    },
    expiresAt: input.expiresAt,
    key,
    now: Date.now(),
  });
  timer.mark("sign");
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
    };
  }
  out.note(`pushing version ${version} to ${target.where} (${changes.text})`);
  const { signal, warnings: replaced = [] } = await target.push(jws);
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
  }
  return result;
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
  if (result.servedAfterMs !== undefined) {
    // /healthz answers from the nearest location only; the rest follow the signal (or KV).
    const elsewhere =
      typeof result.signalIntervalSeconds === "number"
        ? `other locations within ~${result.signalIntervalSeconds * 1.5} s (version signal every ${result.signalIntervalSeconds} s)`
        : "other locations as KV propagates (a minute or more: the worker has no version signal)";
    out.line(`  served ${formatMs(result.servedAfterMs)} after the push; ${elsewhere}`);
  }
}

/** The --json shape of a release. */
export function releaseJson(result: ReleaseResult, timer: Timer): Record<string, unknown> {
  return {
    ok: true,
    ...result,
    steps: timer.steps.map((s) => ({ step: s.step, ms: Math.round(s.ms * 10) / 10 })),
    totalMs: Math.round(timer.total() * 10) / 10,
  };
}
