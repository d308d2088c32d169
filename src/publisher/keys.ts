/**
 * Signing keys for the publisher: Ed25519 key generation, loading the private key from a file or an
 * environment variable, and the public keys trusted when checking snapshots read back from a
 * target. I/O: reads key files only.
 */
import { readFileSync } from "node:fs";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";
import { type KeyRing, loadKeyRing } from "../snapshot/keys";
import { importSigningKey, type SigningKey } from "../snapshot/sign";
import type { Settings } from "./config";
import { CliError, EXIT } from "./output";

export interface GeneratedKeys {
  privateJwk: JWK;
  /** `{"keys": [publicJwk]}`: the value for the worker's EDGEFLAGS_PUBLIC_KEYS. */
  publicJwks: { keys: JWK[] };
}

/** A new Ed25519 pair; `kid` defaults to the first 16 characters of the RFC 7638 thumbprint. */
export async function generateKeys(kid?: string): Promise<GeneratedKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const pub = await exportJWK(pair.publicKey);
  const id = kid ?? (await calculateJwkThumbprint(pub)).slice(0, 16);
  const priv = await exportJWK(pair.privateKey);
  return {
    privateJwk: { ...priv, kid: id, alg: "EdDSA", use: "sig" },
    publicJwks: { keys: [{ ...pub, kid: id, alg: "EdDSA", use: "sig" }] },
  };
}

/** The public half of a private JWK (drops every private member). */
export function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

export interface LoadedKey {
  jwk: JWK;
  signer: SigningKey;
}

/** The private key from --key, EDGEFLAGS_PRIVATE_KEY(_FILE) or the config, or a CliError saying how to set one. */
export async function loadPrivateKey(settings: Pick<Settings, "privateKey">): Promise<LoadedKey> {
  const from = settings.privateKey;
  if (!from) {
    throw new CliError(
      EXIT.usage,
      "no private key: pass --key FILE, or set EDGEFLAGS_PRIVATE_KEY (the JWK as JSON) or EDGEFLAGS_PRIVATE_KEY_FILE (create one with `edgeflags keygen`)",
    );
  }
  let text: string;
  let source: string;
  if ("file" in from) {
    source = from.file;
    try {
      text = readFileSync(from.file, "utf8");
    } catch (err) {
      throw new CliError(EXIT.io, `cannot read the private key ${from.file}: ${(err as Error).message}`);
    }
  } else {
    ({ json: text, source } = from);
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new CliError(
      EXIT.usage,
      `${source} is not a JWK (expected JSON like {"kty":"OKP","crv":"Ed25519",...})`,
    );
  }
  try {
    return { jwk, signer: await importSigningKey(jwk) };
  } catch (err) {
    throw new CliError(EXIT.usage, `${source}: ${(err as Error).message}`);
  }
}

/** Keys trusted when reading snapshots back: the signing key's own public half plus any configured JWKS. */
export async function trustedKeys(
  publicKeys: { json: string; source: string } | undefined,
  own?: JWK,
): Promise<KeyRing> {
  const keys: JWK[] = own ? [publicPart(own)] : [];
  if (publicKeys) {
    try {
      const parsed = JSON.parse(publicKeys.json) as { keys?: JWK[] };
      for (const k of parsed.keys ?? []) if (!keys.some((o) => o.kid === k.kid)) keys.push(k);
    } catch {
      throw new CliError(EXIT.usage, `${publicKeys.source} is not a JWKS (expected {"keys": [...]})`);
    }
  }
  if (keys.length === 0) return new Map();
  try {
    return await loadKeyRing({ keys });
  } catch (err) {
    throw new CliError(EXIT.usage, `${publicKeys?.source ?? "public keys"}: ${(err as Error).message}`);
  }
}
