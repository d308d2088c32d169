/**
 * Public keys the worker trusts, selected by `kid`. Built once per isolate from a JWKS (several keys
 * at once, for rotation). Imports them with WebCrypto directly (src/snapshot/jws.ts verifies with
 * them); no other I/O. The worker bundles nothing of jose.
 */
import type { JWK } from "jose";
import { type Policy, PolicyError, parsePolicy } from "../policy/policy";
import { SnapshotError } from "./errors";
import { SNAPSHOT_ALGORITHMS, type SnapshotAlgorithm } from "./format";
import { JWS_ALGORITHMS } from "./jws";

export interface TrustedKey {
  kid: string;
  alg: SnapshotAlgorithm;
  key: CryptoKey | Uint8Array;
}

/**
 * The trusted keys by kid, and the root trust policy when one is configured (src/policy/policy.ts):
 * without one, every key may publish every flag and nothing needs approvals.
 */
export type KeyRing = ReadonlyMap<string, TrustedKey> & { readonly policy?: Policy };

/** The algorithm a JWK can verify, from its own fields; undefined if it is no snapshot key. */
export function algorithmOf(jwk: JWK): SnapshotAlgorithm | undefined {
  return SNAPSHOT_ALGORITHMS.find(
    (a) => JWS_ALGORITHMS[a].kty === jwk.kty && JWS_ALGORITHMS[a].crv === jwk.crv,
  );
}

/**
 * Parses a JWKS (JSON text or object) into a key ring. Every key needs a `kid` and must be an
 * Ed25519 or P-256 public key; a key declaring an `alg` must declare the one its curve implies.
 */
export async function loadKeyRing(
  jwks: string | { keys?: unknown },
  policy?: string | object,
): Promise<KeyRing> {
  let parsed: { keys?: unknown };
  try {
    parsed = typeof jwks === "string" ? (JSON.parse(jwks) as { keys?: unknown }) : jwks;
  } catch (cause) {
    throw new SnapshotError("ERR_SNAPSHOT_NO_KEYS", "public keys are not valid JSON (expected a JWKS)", {
      cause,
    });
  }
  if (!parsed || !Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    throw new SnapshotError("ERR_SNAPSHOT_NO_KEYS", 'public keys must be a JWKS: {"keys": [ ... ]}');
  }
  const ring = new Map<string, TrustedKey>();
  for (const raw of parsed.keys as JWK[]) {
    const alg = algorithmOf(raw);
    if (!raw.kid || !alg || (raw.alg && raw.alg !== alg && !(alg === "EdDSA" && raw.alg === "Ed25519"))) {
      throw new SnapshotError(
        "ERR_SNAPSHOT_NO_KEYS",
        `public key ${raw.kid ?? "(no kid)"} must have a kid and be an Ed25519 or P-256 key`,
      );
    }
    if ("d" in raw) {
      throw new SnapshotError(
        "ERR_SNAPSHOT_NO_KEYS",
        `key ${raw.kid} is a private key; configure public keys only`,
      );
    }
    const { alg: _ignored, use: _use, ...publicJwk } = raw;
    // Verify-only, not extractable; WebCrypto refuses a JWK whose kty, curve or `key_ops` disagree.
    // As jose's importJWK did, the key's own `alg` (checked above) and `use` are dropped.
    const key = await crypto.subtle.importKey(
      "jwk",
      publicJwk as JsonWebKey,
      JWS_ALGORITHMS[alg].imports,
      false,
      ["verify"],
    );
    ring.set(raw.kid, { kid: raw.kid, alg, key });
  }
  if (policy === undefined) return ring;
  try {
    return Object.assign(ring, { policy: parsePolicy(policy, ring.keys()) });
  } catch (cause) {
    const message = cause instanceof PolicyError ? cause.message : `policy: ${String(cause)}`;
    throw new SnapshotError("ERR_SNAPSHOT_NO_KEYS", message, { cause });
  }
}

export function isSnapshotAlgorithm(alg: unknown): alg is SnapshotAlgorithm {
  return (SNAPSHOT_ALGORITHMS as readonly unknown[]).includes(alg);
}
