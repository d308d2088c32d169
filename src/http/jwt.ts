/**
 * Identity tokens (JWT, RFC 7519) verified with WebCrypto against a JWKS, inline or fetched: what the
 * worker needs of jose's jwtVerify and JWKS sets, without jose in the bundle. Compact JWS only; the
 * header's `alg` from an allow-list, no `crit`; a key chosen as RFC 7517 says (`kid`, the key's own
 * `alg`, `kty` and curve, `use`, `key_ops`), RSA keys of 2048 bits or more; then the claims: `iss`
 * and `aud` as configured, `exp` required, `nbf` and `iat` honoured, all within a clock tolerance.
 * I/O: the remote set fetches its JWKS (cached, with a cool-down), nothing else.
 */
import { isMap } from "../flags/json-value";
import * as base64url from "../snapshot/base64url";
import { compactParts, decodeHeader, JWS_ALGORITHMS, type JwsAlgorithm, signingInput } from "../snapshot/jws";

/**
 * Why a token was not accepted. `unavailable`: the token could not be checked at all (the keys could
 * not be fetched), which is not the token's fault.
 */
export class JwtError extends Error {
  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(message);
    this.name = "JwtError";
  }
}

/** No key of the set fits the token's header: a remote set may fetch again. */
class NoMatchingKey extends JwtError {}

export type JwtAlgorithm = JwsAlgorithm;

/** The keys of a set that may verify a token with this `alg` and `kid`; throws if there are none. */
export type KeySet = (alg: JwtAlgorithm, kid: string | undefined) => Promise<CryptoKey[]>;

export interface JwtExpectations {
  issuer: string;
  audience: string;
  algorithms: readonly JwtAlgorithm[];
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  clockTolerance: number;
  /** Now, in seconds since the epoch (default: the clock). */
  now?: number;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Whether a JWK may verify with `alg` (RFC 7517 section 4: `use`, `key_ops`, `alg`). */
function usable(jwk: Record<string, unknown>, alg: JwtAlgorithm, kid: string | undefined): boolean {
  const spec = JWS_ALGORITHMS[alg];
  const ops = jwk.key_ops;
  return (
    jwk.kty === spec.kty &&
    (spec.crv === undefined || jwk.crv === spec.crv) &&
    (kid === undefined || jwk.kid === kid) &&
    (jwk.alg === undefined || jwk.alg === alg) &&
    (jwk.use === undefined || jwk.use === "sig") &&
    (ops === undefined || (Array.isArray(ops) && ops.includes("verify")))
  );
}

/**
 * A verify-only CryptoKey, or null when WebCrypto refuses the JWK (a private key among them: it cannot
 * be imported for "verify") or an RSA key is under 2048 bits.
 */
async function importKey(jwk: Record<string, unknown>, alg: JwtAlgorithm): Promise<CryptoKey | null> {
  const { alg: _alg, use: _use, ...material } = jwk;
  try {
    const key = await crypto.subtle.importKey(
      "jwk",
      material as unknown as JsonWebKey,
      JWS_ALGORITHMS[alg].imports,
      false,
      ["verify"],
    );
    const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
    return bits === undefined || bits >= 2048 ? key : null;
  } catch {
    return null;
  }
}

/** A fixed JWKS (already checked to be `{ keys: [object, ...] }`); each key imported once per algorithm. */
export function localKeySet(jwks: { keys: readonly unknown[] }): KeySet {
  const keys = jwks.keys.filter(isMap);
  const imported = new Map<string, Promise<CryptoKey | null>>();
  return async (alg, kid) => {
    const found: CryptoKey[] = [];
    for (let i = 0; i < keys.length; i++) {
      const jwk = keys[i] as Record<string, unknown>;
      if (!usable(jwk, alg, kid)) continue;
      let key = imported.get(`${i} ${alg}`);
      if (!key) {
        key = importKey(jwk, alg);
        imported.set(`${i} ${alg}`, key);
      }
      const k = await key;
      if (k) found.push(k);
    }
    if (found.length === 0) throw new NoMatchingKey(`no key in the JWKS fits alg ${alg}, kid ${kid}`);
    return found;
  };
}

/** How a remote JWKS is fetched and kept (jose's defaults). */
export const REMOTE_JWKS = {
  timeoutMs: 5_000,
  /** Keys are fetched again once they are this old. */
  maxAgeMs: 10 * 60_000,
  /** A token naming an unknown key fetches again, at most this often. */
  cooldownMs: 30_000,
  /** After a failed fetch, tokens are refused as unverifiable for this long before the next try. */
  retryMs: 5_000,
  /** Largest JWKS response read. */
  maxBytes: 64 * 1024,
} as const;

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/**
 * A JWKS fetched from `url` and kept for `maxAgeMs`. A token whose key is not in it fetches it again,
 * once per `cooldownMs`, so a provider's new key is found without a restart while a stream of tokens
 * naming unknown keys costs one fetch per cool-down. A fetch that fails (timeout, not 200, not a JWKS)
 * makes every token unverifiable (`unavailable`) until a later fetch succeeds, tried at most once per
 * `retryMs`: keys past their age are not trusted, since a provider drops a key to revoke it. No
 * fetch is shared between requests (workerd ties I/O to the request that started it).
 */
export function remoteKeySet(url: URL, fetcher: Fetcher = fetch, clock: () => number = Date.now): KeySet {
  let keys: KeySet | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let failedAt = Number.NEGATIVE_INFINITY;

  const load = async (): Promise<KeySet> => {
    if (clock() - failedAt < REMOTE_JWKS.retryMs) {
      throw new JwtError("the identity keys (IDENTITY_JWKS_URL) could not be fetched", true);
    }
    try {
      const res = await fetcher(url.href, {
        method: "GET",
        redirect: "manual",
        headers: { accept: "application/jwk-set+json, application/json", "user-agent": "edgeflags" },
        signal: AbortSignal.timeout(REMOTE_JWKS.timeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const length = Number(res.headers.get("content-length") ?? 0);
      if (length > REMOTE_JWKS.maxBytes) {
        await res.body?.cancel();
        throw new Error(`${length} bytes`);
      }
      const text = await res.text();
      if (text.length > REMOTE_JWKS.maxBytes) throw new Error(`${text.length} characters`);
      const jwks: unknown = JSON.parse(text);
      const list = isMap(jwks) ? jwks.keys : undefined;
      if (!Array.isArray(list) || list.length === 0 || !list.every(isMap)) throw new Error("not a JWKS");
      keys = localKeySet({ keys: list });
      fetchedAt = clock();
      return keys;
    } catch (cause) {
      failedAt = clock();
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new JwtError(`the identity keys (IDENTITY_JWKS_URL) could not be fetched: ${reason}`, true);
    }
  };

  return async (alg, kid) => {
    const current = keys && clock() - fetchedAt < REMOTE_JWKS.maxAgeMs ? keys : await load();
    try {
      return await current(alg, kid);
    } catch (err) {
      if (!(err instanceof NoMatchingKey) || clock() - fetchedAt < REMOTE_JWKS.cooldownMs) throw err;
      return (await load())(alg, kid);
    }
  };
}

/** A NumericDate claim: absent, or a finite number (seconds since the epoch). */
function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new JwtError(`the "${name}" claim is not a number`);
  }
  return value;
}

/**
 * The claims of `token` if it is a JWT signed by a key of `keys` and meant for this worker now;
 * otherwise a JwtError saying why. `exp` is required; a token issued (`iat`) or valid from (`nbf`)
 * later than now, beyond the tolerance, is refused.
 */
export async function verifyJwt(
  token: string,
  keys: KeySet,
  expect: JwtExpectations,
): Promise<Record<string, unknown>> {
  const parts = compactParts(token);
  const header = parts && decodeHeader(parts[0]);
  if (!parts || !header) throw new JwtError("not a compact JWS with a JSON header");
  if (header.crit !== undefined) throw new JwtError("critical header extensions are not supported");
  const alg = header.alg as JwtAlgorithm;
  if (!expect.algorithms.includes(alg)) throw new JwtError(`algorithm ${String(alg)} is not allowed`);
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string") throw new JwtError("kid is not a string");

  const candidates = await keys(alg, kid as string | undefined);
  let signature: Uint8Array;
  let claims: unknown;
  try {
    signature = base64url.decode(parts[2]);
  } catch {
    throw new JwtError("the signature is not base64url");
  }
  const input = signingInput(token, parts);
  let verified = false;
  for (const key of candidates) {
    if (await crypto.subtle.verify(JWS_ALGORITHMS[alg].verifies, key, signature, input).catch(() => false)) {
      verified = true;
      break;
    }
  }
  if (!verified) throw new JwtError("the signature does not verify");
  try {
    claims = JSON.parse(strictDecoder.decode(base64url.decode(parts[1])));
  } catch {
    throw new JwtError("the claims are not base64url JSON");
  }
  if (!isMap(claims)) throw new JwtError("the claims are not a JSON object");

  if (claims.iss !== expect.issuer) throw new JwtError("unexpected issuer");
  const aud = claims.aud;
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience)))) {
    throw new JwtError("unexpected audience");
  }
  const now = expect.now ?? Math.floor(Date.now() / 1000);
  const tolerance = expect.clockTolerance;
  const exp = numericDate(claims, "exp");
  const nbf = numericDate(claims, "nbf");
  const iat = numericDate(claims, "iat");
  if (exp === undefined) throw new JwtError('the "exp" claim is missing');
  if (exp <= now - tolerance) throw new JwtError("the token has expired");
  if (nbf !== undefined && nbf > now + tolerance) throw new JwtError("the token is not valid yet");
  if (iat !== undefined && iat > now + tolerance) throw new JwtError("the token was issued in the future");
  return claims;
}
