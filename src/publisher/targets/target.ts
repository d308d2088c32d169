/**
 * What every push target offers the commands: the live snapshot, an old version, the audit trail,
 * and a push that either lands or says why not. Types only, no I/O.
 */
import type { AuditRecord } from "../../snapshot/format";

export interface Target {
  /** For messages: "worker http://127.0.0.1:8787", "Cloudflare KV API namespace ...". */
  readonly where: string;
  /** The live compact JWS, or null when nothing is published in this environment. */
  live(): Promise<string | null>;
  /** A published version's compact JWS, or null. */
  version(version: number): Promise<string | null>;
  /** Audit records, newest first. */
  history(limit: number): Promise<AuditRecord[]>;
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
}
