/**
 * What every push target offers the commands: the live snapshot, an old version, the audit trail,
 * and a push that either lands or says why not. Types only, no I/O.
 */
import type { HistoryEntry } from "../../snapshot/audit";
import type { AuditRecord } from "../../snapshot/format";

/**
 * The snapshot to build on: the newest that verifies (checked by the worker with its keys, or, for
 * the direct-KV targets, by this publisher with its own), and what was wrong with `current` in KV
 * when it is not that snapshot.
 */
export interface LiveSnapshot {
  /** The newest compact JWS that verifies, or null when none does (or nothing is published). */
  jws: string | null;
  /**
   * Why `current` in KV is not `jws`: ERR_SNAPSHOT_MISSING, ERR_SNAPSHOT_ROLLBACK (an older version)
   * or the code it failed verification with.
   */
  currentProblem?: string;
  /** The version a publish must exceed, when the target knows one (the worker's beacon may know more). */
  floor?: number;
}

/** An audit record as a target returns it: checked against its snapshot (absent from old workers). */
export type HistoryRecord = HistoryEntry | (AuditRecord & { verified?: undefined; reason?: undefined });

export interface Target {
  /** For messages: "worker http://127.0.0.1:8787", "Cloudflare KV API namespace ...". */
  readonly where: string;
  /** The newest snapshot that verifies, and what was wrong with `current` in KV if anything. */
  live(): Promise<LiveSnapshot>;
  /** A published version's compact JWS, or null. */
  version(version: number): Promise<string | null>;
  /** Audit records, newest first, each checked against the signed snapshot of its version. */
  history(limit: number): Promise<HistoryRecord[]>;
  /**
   * Makes `jws` the live snapshot. Throws CliError: exit 1 when refused (older version, bad
   * signature, wrong environment, token), exit 3 when the target cannot be reached.
   */
  push(jws: string): Promise<PushOutcome>;
  /** Releases connections or processes the target holds. */
  close(): Promise<void>;
}

export interface PushOutcome {
  version: number;
  /**
   * Whether the worker's version beacon was told (docs/propagation.md): `announced`, `off` (the worker
   * has no beacon), `failed`, or `skipped` (nothing to tell it through). Absent from old workers.
   */
  signal?: { status: "announced" | "off" | "failed" | "skipped"; message?: string };
  /** What the push found in KV without authority and replaced (a `current` or a versioned key). */
  warnings?: string[];
}
