/**
 * Building and reading snapshots on the publisher side: sign a payload and check it with the very
 * code the worker runs (validate + compile + verify), decode what a target returns, and verify
 * snapshots read back before re-signing their content. No I/O beyond WebCrypto.
 */
import { decodeJwt } from "jose";
import type { FlagsDocument } from "../flags/types";
import type { ApprovalGroup } from "../policy/approvals";
import { SnapshotError } from "../snapshot/errors";
import { type SnapshotAudit, type SnapshotPayload, snapshotPayload } from "../snapshot/format";
import type { KeyRing } from "../snapshot/keys";
import { signSnapshot } from "../snapshot/sign";
import { verifySnapshot } from "../snapshot/verify";
import { type LoadedKey, trustedKeys } from "./keys";
import { CliError, EXIT } from "./output";

export interface BuildInput {
  flags: FlagsDocument;
  environment: string;
  version: number;
  sourceDigest: string;
  audit: SnapshotAudit;
  expiresAt?: string;
  /** Approval groups to sign in (src/publisher/approvals.ts chose them). */
  approvals?: ApprovalGroup[];
  key: LoadedKey;
  now: number;
}

/**
 * Signs a snapshot, then verifies it as the worker would (with the key's public half): anything the
 * worker would refuse - flags that do not compile, a bad expiry - fails here, before any push.
 */
export async function buildSnapshot(input: BuildInput): Promise<{ jws: string; payload: SnapshotPayload }> {
  const payload = snapshotPayload(input.flags, input);
  const jws = await signSnapshot(payload, input.key.signer);
  const own = await trustedKeys(undefined, input.key.jwk);
  try {
    await verifySnapshot(jws, { keys: own, environment: input.environment, now: input.now });
  } catch (err) {
    const code = err instanceof SnapshotError ? ` (${err.code})` : "";
    throw new CliError(
      EXIT.problems,
      `the worker would refuse this snapshot${code}: ${(err as Error).message}`,
    );
  }
  return { jws, payload };
}

/** The payload of a compact JWS without checking its signature (version numbers, diff display). */
export function decodeSnapshot(jws: string): SnapshotPayload {
  try {
    return decodeJwt(jws) as unknown as SnapshotPayload;
  } catch (err) {
    throw new CliError(
      EXIT.problems,
      `the target returned something that is not a snapshot: ${(err as Error).message}`,
    );
  }
}

/**
 * Verifies a snapshot read back from a target before its content is signed again (kill, rollback).
 * Expiry and version are not checked: an old version is exactly what a rollback wants.
 */
export async function verifyReadBack(
  jws: string,
  keys: KeyRing,
  environment: string,
): Promise<SnapshotPayload> {
  try {
    // now = 0: an expired snapshot's content may still be rolled back to, under a new expiry.
    const verified = await verifySnapshot(jws, { keys, environment, now: 0 });
    return verified.payload;
  } catch (err) {
    const code = err instanceof SnapshotError ? err.code : "";
    const hint =
      code === "ERR_SNAPSHOT_KID_UNKNOWN"
        ? " - if it was signed with another key, set EDGEFLAGS_PUBLIC_KEYS to the worker's JWKS"
        : "";
    throw new CliError(
      EXIT.problems,
      `refusing to re-sign a snapshot that does not verify: ${(err as Error).message}${hint}`,
    );
  }
}
