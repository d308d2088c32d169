/**
 * Storing a published snapshot in KV, and finding the newest one that verifies, shared by the
 * worker's intake and the publisher's KV targets so that both keep the same rules: only a snapshot
 * that verifies carries authority (sets the version floor, occupies a version), versions only go up,
 * and a version and its audit record are written before `current` points at them. Whatever else KV
 * holds - garbage, forgeries, a copy under the wrong key - is reported and never blocks a publish.
 * I/O through the KV given.
 */
import { auditRecord } from "./audit";
import { SnapshotError } from "./errors";
import { kvKeys } from "./format";
import type { KeyRing } from "./keys";
import { versionsIn } from "./kv";
import { type VerifiedSnapshot, verifySnapshot } from "./verify";

/** The part of a KV namespace publishing needs (a binding, Miniflare's, or the Cloudflare API). */
export interface PublishKv {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

/** What finding the live snapshot needs: reads, and every key name under a prefix. */
export interface ScanKv {
  get(key: string): Promise<string | null>;
  list(prefix: string): Promise<string[]>;
}

/** Verifies a JWS read back from KV, or throws a `SnapshotError`. */
export type SnapshotCheck = (jws: string) => Promise<VerifiedSnapshot>;

/**
 * The check that gives a snapshot read back from KV authority: signed by a trusted key, for this
 * environment, well-formed and compiling. Expiry and age do not matter (an expired snapshot was still
 * published, and still sets the floor).
 */
export function authorityCheck(keys: KeyRing, environment: string, maxBytes?: number): SnapshotCheck {
  return (jws) => verifySnapshot(jws, { keys, environment, now: 0, maxBytes });
}

/** A stored snapshot that is no snapshot: why, with the stable code (ERR_SNAPSHOT_...). */
export interface Refusal {
  code: string;
  message: string;
}

function refusal(err: unknown): Refusal {
  if (err instanceof SnapshotError) return { code: err.code, message: err.message };
  throw err;
}

/** A versioned key's content, verified: it must be a snapshot of the version its key names. */
async function checkAt(check: SnapshotCheck, jws: string, version: number): Promise<VerifiedSnapshot> {
  const verified = await check(jws);
  if (verified.payload.version !== version) {
    throw new SnapshotError(
      "ERR_SNAPSHOT_PAYLOAD",
      `holds a snapshot of version ${verified.payload.version}, not ${version}`,
    );
  }
  return verified;
}

/** What `current` held when it is not the newest snapshot that verifies. */
export type CurrentProblem =
  | { code: "ERR_SNAPSHOT_MISSING"; message: string }
  | { code: "ERR_SNAPSHOT_ROLLBACK"; message: string; version: number }
  | Refusal;

export interface LiveState {
  /** The newest snapshot that verifies, wherever it was found; undefined when none does. */
  newest: VerifiedSnapshot | undefined;
  /** Why `current` is not `newest` (absent when it is, or when KV holds nothing at all). */
  current?: CurrentProblem;
}

export interface FindOptions {
  /** Snapshots verified elsewhere (the worker's memory, the beacon's copy) that count as well. */
  known?: (VerifiedSnapshot | undefined)[];
  /** At most this many versioned keys are read looking for one that verifies (bounds the cost). */
  scanLimit?: number;
  /** At most this many versions past the newest are followed (an interrupted publish, a lagging current). */
  followLimit?: number;
}

/**
 * The newest snapshot that verifies: `current` if it does, else the newest versioned key that does
 * (newest first, at most `scanLimit` of them), never older than `known`; then the versions right
 * after it, while they verify, so a `current` left behind (an interrupted publish, a KV writer putting
 * an old snapshot back) is not taken for the live one. Nothing that fails to verify counts.
 */
export async function findLive(
  kv: ScanKv,
  check: SnapshotCheck,
  environment: string,
  options: FindOptions = {},
): Promise<LiveState> {
  const newer = (a: VerifiedSnapshot | undefined, b: VerifiedSnapshot | undefined) =>
    !a || (b && b.payload.version > a.payload.version) ? b : a;
  let best: VerifiedSnapshot | undefined;
  for (const k of options.known ?? []) best = newer(best, k);

  const raw = await kv.get(kvKeys.current(environment));
  let current: VerifiedSnapshot | undefined;
  let problem: CurrentProblem | undefined;
  if (raw === null) {
    problem = { code: "ERR_SNAPSHOT_MISSING", message: "current in KV is missing" };
  } else {
    try {
      // The same bytes as a snapshot already verified (the one this isolate serves, the beacon's):
      // no signature to check and no document to compile again.
      current = options.known?.find((k) => k?.jws === raw) ?? (await check(raw));
    } catch (err) {
      const r = refusal(err);
      problem = { code: r.code, message: `current in KV does not verify (${r.code}): ${r.message}` };
    }
  }
  best = newer(best, current);

  if (!current) {
    const prefix = kvKeys.versionPrefix(environment);
    const above = best?.payload.version ?? 0;
    const versions = versionsIn(await kv.list(prefix), prefix, (v) => kvKeys.version(environment, v))
      .filter((v) => v > above)
      .slice(0, options.scanLimit ?? 1000);
    // Read a few at a time, newest first, and stop at the first that verifies.
    for (let i = 0; i < versions.length; i += 5) {
      const batch = versions.slice(i, i + 5);
      const found = await Promise.all(
        batch.map(async (v) => {
          const jws = await kv.get(kvKeys.version(environment, v));
          return jws === null ? undefined : checkAt(check, jws, v).catch(() => undefined);
        }),
      );
      const hit = found.find((f) => f !== undefined);
      if (hit) {
        best = newer(best, hit);
        break;
      }
    }
  }

  for (let n = 0; best && n < (options.followLimit ?? 10); n++) {
    const next = best.payload.version + 1;
    const jws = await kv.get(kvKeys.version(environment, next));
    const verified = jws === null ? undefined : await checkAt(check, jws, next).catch(() => undefined);
    if (!verified) break;
    best = verified;
  }

  if (current && best && best !== current && best.payload.version > current.payload.version) {
    problem = {
      code: "ERR_SNAPSHOT_ROLLBACK",
      message: `current in KV is version ${current.payload.version}, older than version ${best.payload.version}`,
      version: current.payload.version,
    };
  } else if (current) {
    problem = undefined;
  }
  // Nothing in KV at all is a fresh environment, not a problem worth reporting.
  if (!best && raw === null) problem = undefined;
  return { newest: best, ...(problem ? { current: problem } : {}) };
}

/** What `writeSnapshot` found in the way and overwrote (it had no authority). */
export interface WriteOutcome {
  replaced?: Refusal;
}

/**
 * Writes a verified snapshot: its version and audit record, then `current`. A versioned key already
 * holding a different snapshot that verifies as that version is a real publish: refused as
 * ERR_SNAPSHOT_ROLLBACK, so history is never overwritten. Anything else there (garbage, a forgery, a
 * real snapshot of another version copied under this key) has no authority and is overwritten, and
 * said so in the outcome.
 */
export async function writeSnapshot(
  kv: PublishKv,
  verified: VerifiedSnapshot,
  check: SnapshotCheck,
): Promise<WriteOutcome> {
  const { environment, version } = verified.payload;
  const key = kvKeys.version(environment, version);
  const existing = await kv.get(key);
  let replaced: Refusal | undefined;
  if (existing !== null && existing !== verified.jws) {
    const there = await checkAt(check, existing, version).then(
      () => undefined,
      (err: unknown) => refusal(err),
    );
    if (!there) {
      throw new SnapshotError(
        "ERR_SNAPSHOT_ROLLBACK",
        `version ${version} was already published: KV holds another signed snapshot of it`,
      );
    }
    replaced = {
      code: there.code,
      message: `${key} held something that does not verify (${there.code}): ${there.message}; overwritten`,
    };
  }
  // Version and audit record first: `current` must never point at a version without its history.
  await Promise.all([
    kv.put(key, verified.jws),
    kv.put(kvKeys.audit(environment, version), JSON.stringify(auditRecord(verified))),
  ]);
  await kv.put(kvKeys.current(environment), verified.jws);
  return replaced ? { replaced } : {};
}
