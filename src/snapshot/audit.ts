/**
 * Audit records: derived from a verified snapshot's signed `audit` field, so a record is exactly as
 * trustworthy as the snapshot it describes. Pure, no I/O; used by the intake and the publisher's
 * direct-KV targets alike, so both write the same record.
 */
import type { AuditRecord } from "./format";
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
  };
}
