/**
 * Throwaway signing for benchmarks and end-to-end checks: a fresh Ed25519 key, its JWKS for the
 * worker's EDGEFLAGS_PUBLIC_KEYS, and a function that signs a flags document as a snapshot. WebCrypto only.
 */
import type { FlagsDocument } from "../../src/flags/types";
import { generateKeys } from "../../src/publisher/keys";
import { type PayloadInput, snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";

export interface EphemeralSigner {
  /** JWKS text for EDGEFLAGS_PUBLIC_KEYS. */
  jwks: string;
  sign(flags: FlagsDocument, input: PayloadInput): Promise<string>;
}

/** A new key pair under `kid`, ready to sign snapshots. */
export async function ephemeralSigner(kid = "bench"): Promise<EphemeralSigner> {
  const keys = await generateKeys(kid);
  const signer = await importSigningKey(keys.privateJwk);
  return {
    jwks: JSON.stringify(keys.publicJwks),
    sign: (flags, input) => signSnapshot(snapshotPayload(flags, input), signer),
  };
}

/** The PUBLISH_TOKEN the benchmark workers are started with. */
export const BENCH_TOKEN = "bench-token";

/** The intake request that publishes `jws` (PUT /v1/snapshot, or under a gateway's API prefix). */
export function publishRequest(jws: string, token = BENCH_TOKEN): RequestInit {
  return {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/jose" },
    body: jws,
  };
}

/** Publishes `jws` at `intakeUrl` with the worker's PUBLISH_TOKEN; throws unless it was accepted. */
export async function publishTo(intakeUrl: string, jws: string, token = BENCH_TOKEN): Promise<void> {
  const res = await fetch(intakeUrl, publishRequest(jws, token));
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
}
