/**
 * The part publish, rollback and kill share: a new version on top of the live one, the change
 * summary, sign (checked as the worker would), push, and wait until /healthz serves it, timing each
 * step. I/O through the target and the health poll.
 */
import type { FlagsDocument } from "../../flags/types";
import type { ChangeSummary, SnapshotPayload } from "../../snapshot/format";
import { diffDocuments } from "../diff";
import { CliError, EXIT, formatMs, type Output } from "../output";
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
  live?: { jws: string | null; payload: SnapshotPayload | undefined };
}

export interface ReleaseResult {
  environment: string;
  version: number;
  previousVersion: number | null;
  changes: ChangeSummary;
  /** Whether /healthz was seen serving the new version. */
  confirmed: boolean;
  /** From the end of the push until the worker's /healthz served the new version, ms. */
  servedAfterMs?: number;
  /** The worker's version-signal interval, when on: other locations follow within ~1.5 of it. */
  signalIntervalSeconds?: number | null;
  /** Whether the version beacon was told (see PushOutcome). */
  signal?: PushOutcome["signal"];
}

/** Reads the live snapshot (unverified: only its version and flags are used, for numbering and diff). */
export async function readLive(
  session: Session,
): Promise<{ jws: string | null; payload: SnapshotPayload | undefined }> {
  const jws = await session.target.live();
  return { jws, payload: jws === null ? undefined : decodeSnapshot(jws) };
}

/** Signs and pushes `input.flags` as live version + 1, then confirms it is served. */
export async function release(
  session: Session,
  input: ReleaseInput,
  timer: Timer,
  out: Output,
): Promise<ReleaseResult> {
  const { settings, key, target } = session;
  if (!key) throw new CliError(EXIT.usage, "no private key loaded");
  const live = input.live ?? (await readLive(session));
  if (!input.live) timer.mark("read live");
  if (live.payload && live.payload.environment !== settings.environment) {
    throw new CliError(
      EXIT.problems,
      `the live snapshot is for environment "${live.payload.environment}", not "${settings.environment}": pass --env ${live.payload.environment}`,
    );
  }
  const previousVersion = live.payload?.version ?? null;
  const version = (previousVersion ?? 0) + 1;
  const changes = diffDocuments(live.payload?.flags, input.flags);
  const { jws } = await buildSnapshot({
    flags: input.flags,
    environment: settings.environment,
    version,
    sourceDigest: input.sourceDigest,
    audit: { actor: input.actor, ...(input.message ? { message: input.message } : {}), changes },
    expiresAt: input.expiresAt,
    key,
    now: Date.now(),
  });
  timer.mark("sign");
  out.note(`pushing version ${version} to ${target.where} (${changes.text})`);
  const { signal } = await target.push(jws);
  timer.mark("push");
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
