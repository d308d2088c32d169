/**
 * Why a snapshot was refused. Each failure has a stable `code` that tests, logs and the publisher
 * rely on; messages are for people and may change. No I/O.
 */

export const SNAPSHOT_ERROR_CODES = [
  "ERR_SNAPSHOT_TOO_LARGE",
  "ERR_SNAPSHOT_MALFORMED",
  "ERR_SNAPSHOT_ALG",
  "ERR_SNAPSHOT_TYP",
  "ERR_SNAPSHOT_KID_UNKNOWN",
  "ERR_SNAPSHOT_SIGNATURE",
  "ERR_SNAPSHOT_PAYLOAD",
  "ERR_SNAPSHOT_SCHEMA",
  "ERR_SNAPSHOT_ENV",
  "ERR_SNAPSHOT_ROLLBACK",
  "ERR_SNAPSHOT_EXPIRED",
  "ERR_SNAPSHOT_NO_KEYS",
  "ERR_SNAPSHOT_POLICY",
] as const;

export type SnapshotErrorCode = (typeof SNAPSHOT_ERROR_CODES)[number];

/** A snapshot that must not be trusted. The last good snapshot keeps serving. */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
