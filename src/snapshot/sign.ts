/**
 * Signs a snapshot payload into a compact JWS. Used by the publisher (and tests); WebCrypto only.
 */
import { CompactSign, importJWK, type JWK } from "jose";
import { SNAPSHOT_TYP, type SnapshotAlgorithm, type SnapshotPayload } from "./format";
import { algorithmOf } from "./keys";

export interface SigningKey {
  kid: string;
  alg: SnapshotAlgorithm;
  key: CryptoKey | Uint8Array;
}

/** Imports a private JWK (with `kid`) as a signing key. */
export async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  if (!jwk.kid) throw new Error("the private key has no kid");
  if (!jwk.d) throw new Error(`key ${jwk.kid} is not a private key`);
  const alg = algorithmOf(jwk);
  if (!alg) throw new Error(`key ${jwk.kid} is neither Ed25519 (EdDSA) nor P-256 (ES256)`);
  const { alg: _ignored, ...rest } = jwk;
  return { kid: jwk.kid, alg, key: await importJWK(rest, alg) };
}

/** Signs `payload` as a compact JWS with the snapshot `typ` and the key's `kid`. */
export async function signSnapshot(payload: SnapshotPayload, signer: SigningKey): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: SNAPSHOT_TYP })
    .sign(signer.key);
}
