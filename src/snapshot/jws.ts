/**
 * Compact JWS read with WebCrypto directly: its parts, its protected header, and whether a signature
 * is a trusted key's over a signing input. Snapshots, signed tokens and approvals are checked this
 * way rather than with jose's compactVerify, which re-checks the header, scans and copies the whole
 * signing input and decodes the payload on its own (5-6 ms of a fresh isolate's first answer for a
 * 512 KB snapshot, BENCHMARKS.md). Callers check the header (algorithm allow-list, `typ`, `kid`, the
 * key's algorithm, no `crit`) before any crypto. Pure apart from WebCrypto.
 */
import { isMap } from "../flags/json-value";
import * as base64url from "./base64url";
import type { TrustedKey } from "./keys";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The JWS algorithms the worker verifies: snapshots and signed tokens use EdDSA and ES256. */
export type JwsAlgorithm = "RS256" | "PS256" | "ES256" | "EdDSA";

/**
 * Each algorithm's key type (and curve), and its WebCrypto import and verify parameters. JWS ES256
 * signatures are raw r || s, as WebCrypto wants.
 */
export const JWS_ALGORITHMS: Record<
  JwsAlgorithm,
  {
    kty: string;
    crv?: string;
    imports: { name: string; hash?: string; namedCurve?: string };
    verifies: { name: string; hash?: string; saltLength?: number };
  }
> = {
  RS256: {
    kty: "RSA",
    imports: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    verifies: { name: "RSASSA-PKCS1-v1_5" },
  },
  PS256: {
    kty: "RSA",
    imports: { name: "RSA-PSS", hash: "SHA-256" },
    verifies: { name: "RSA-PSS", saltLength: 32 },
  },
  ES256: {
    kty: "EC",
    crv: "P-256",
    imports: { name: "ECDSA", namedCurve: "P-256" },
    verifies: { name: "ECDSA", hash: "SHA-256" },
  },
  EdDSA: { kty: "OKP", crv: "Ed25519", imports: { name: "Ed25519" }, verifies: { name: "Ed25519" } },
};

/** The three base64url parts of a compact JWS (header, payload, signature), or undefined. */
export function compactParts(jws: string): [string, string, string] | undefined {
  const parts = jws.split(".");
  return parts.length === 3 ? (parts as [string, string, string]) : undefined;
}

/** A protected header: the JSON object its base64url text holds, or undefined. */
export function decodeHeader(encoded: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(decoder.decode(base64url.decode(encoded)));
    return isMap(header) ? header : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `signature` (base64url) is `key`'s signature over `input` (the ASCII of `header.payload`).
 * False for anything malformed; never throws. JWS ES256 signatures are raw r || s, as WebCrypto wants.
 */
export async function signatureVerifies(
  key: TrustedKey,
  input: Uint8Array,
  signature: string,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(
      JWS_ALGORITHMS[key.alg].verifies,
      key.key as CryptoKey,
      base64url.decode(signature),
      input,
    );
  } catch {
    return false;
  }
}

/**
 * The signing input of compact JWS `jws` (split into `parts`): `header.payload` as it stands. A
 * non-ASCII character there makes the payload's base64url decode fail afterwards, so it cannot pass
 * for something else.
 */
export function signingInput(jws: string, parts: readonly [string, string, string]): Uint8Array {
  return encoder.encode(jws.slice(0, parts[0].length + 1 + parts[1].length));
}

/** Whether the signature part of compact JWS `jws` (split into `parts`) is `key`'s over its signing input. */
export function compactSignatureVerifies(
  key: TrustedKey,
  jws: string,
  parts: readonly [string, string, string],
): Promise<boolean> {
  return signatureVerifies(key, signingInput(jws, parts), parts[2]);
}
