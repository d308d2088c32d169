/**
 * Audit records: derived from a verified snapshot's signed `audit` field, so a record is exactly as
 * trustworthy as the snapshot it describes. Reading history checks every stored record against the
 * signed snapshot of its version: what is shown comes from the signature, and a record without one is
 * flagged, never shown as real. Used by the intake and the publisher's direct-KV targets alike, so
 * both write and read the same records. I/O only through the KV given to `readHistory`.
 */
import { type AuditRecord, kvKeys } from "./format";
import { versionsIn } from "./kv";
import type { VerifiedSnapshot } from "./verify";

/** The record stored next to a snapshot version. Snapshots without `audit` get null fields. */
export function auditRecord(snapshot: Pick<VerifiedSnapshot, "payload" | "kid">): AuditRecord {
  const { payload } = snapshot;
  return {
    version: payload.version,
    environment: payload.environment,
    issuedAt: payload.issuedAt,
    actor: payload.audit?.actor ?? null,
    message: payload.audit?.message ?? null,
    sourceDigest: payload.sourceDigest,
    kid: snapshot.kid,
    changes: payload.audit?.changes ?? null,
    // Only when there is one: records of snapshots without it stay exactly as they were stored.
    ...(payload.audit?.breakGlass ? { breakGlass: payload.audit.breakGlass.reason } : {}),
  };
}

/**
 * One line of history. `verified: true`: every field comes from the signed snapshot of that version
 * (`reason` says when the stored record was missing or different). `verified: false`: KV names this
 * version but no snapshot of it verifies; only the version and why are given.
 */
export type HistoryEntry =
  | (AuditRecord & { verified: true; reason?: string })
  | { version: number; environment: string; verified: false; reason: string };

/** What reading history needs: reads, and every key name under a prefix. */
export interface HistoryKv {
  get(key: string): Promise<string | null>;
  list(prefix: string): Promise<string[]>;
}

/** Equal as JSON values, whatever the key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameJson(ra[k], rb[k]));
}

/**
 * The newest `limit` versions KV names (as a snapshot or as an audit record), newest first, each
 * checked against the signed snapshot of that version with `check` (which throws when it does not
 * verify). Never throws for what KV holds: unreadable records and snapshots become flagged entries.
 */
export async function readHistory(
  kv: HistoryKv,
  check: (jws: string) => Promise<VerifiedSnapshot>,
  environment: string,
  limit: number,
): Promise<HistoryEntry[]> {
  const auditPrefix = kvKeys.auditPrefix(environment);
  const versionPrefix = kvKeys.versionPrefix(environment);
  const [audits, snapshots] = await Promise.all([kv.list(auditPrefix), kv.list(versionPrefix)]);
  const named = new Set([
    ...versionsIn(audits, auditPrefix, (v) => kvKeys.audit(environment, v)),
    ...versionsIn(snapshots, versionPrefix, (v) => kvKeys.version(environment, v)),
  ]);
  const versions = [...named].sort((a, b) => b - a).slice(0, limit);
  return Promise.all(versions.map((v) => historyEntry(kv, check, environment, v)));
}

async function historyEntry(
  kv: HistoryKv,
  check: (jws: string) => Promise<VerifiedSnapshot>,
  environment: string,
  version: number,
): Promise<HistoryEntry> {
  const [stored, jws] = await Promise.all([
    kv.get(kvKeys.audit(environment, version)),
    kv.get(kvKeys.version(environment, version)),
  ]);
  const unverified = (reason: string): HistoryEntry => ({ version, environment, verified: false, reason });
  if (jws === null) {
    return unverified(`no snapshot of version ${version} in KV: the audit record cannot be checked`);
  }
  let snapshot: VerifiedSnapshot;
  try {
    snapshot = await check(jws);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "ERR_SNAPSHOT_MALFORMED";
    return unverified(`the snapshot of version ${version} in KV does not verify (${code})`);
  }
  if (snapshot.payload.version !== version) {
    return unverified(`KV holds a snapshot of version ${snapshot.payload.version} under version ${version}`);
  }
  const record = auditRecord(snapshot);
  let parsed: unknown;
  try {
    parsed = stored === null ? undefined : JSON.parse(stored);
  } catch {
    parsed = undefined;
  }
  if (stored !== null && sameJson(parsed, record)) return { ...record, verified: true };
  const reason =
    stored === null
      ? "no audit record in KV: shown from the signed snapshot"
      : "the audit record in KV does not match the signed snapshot: shown from the snapshot";
  return { ...record, verified: true, reason };
}
