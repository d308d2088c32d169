/**
 * Verifies an `Authorization: Bearer` identity token (JWT) against the configured issuer, audience
 * and JWKS (src/http/jwt.ts). Its claims become trusted attributes. A remote JWKS is fetched and
 * cached.
 */
import type { Config } from "./config";
import { ApiError } from "./errors";
import { type JwtAlgorithm, JwtError, type KeySet, localKeySet, remoteKeySet, verifyJwt } from "./jwt";

const IDENTITY_ALGORITHMS: readonly JwtAlgorithm[] = ["RS256", "PS256", "ES256", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 30;

export type IdentityVerifier = (request: Request) => Promise<Record<string, unknown> | undefined>;

/**
 * A bearer token arrived while the identity settings are unusable (`Config.identityError`): it can be
 * neither verified nor ignored. A 500 (`internal`) naming the settings: the token is not at fault.
 */
export class IdentityUnavailable extends ApiError {
  constructor(detail: string) {
    super("internal", detail);
  }
}

/** The bearer token of a request; undefined without an Authorization header. */
function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new ApiError("invalid_token", "Authorization must be 'Bearer <token>'");
  return match[1];
}

/**
 * A verifier for the configured identity settings. Without identity settings the Authorization header
 * is not read (it may be meant for someone else); with them, a present but invalid token is a 401,
 * and one without `exp` or living longer than the maximum lifetime is invalid. With unusable settings
 * a bearer token throws IdentityUnavailable: evaluating without the claims would fail open on any rule
 * that denies by a claim. Requests without a token are evaluated as always.
 */
export function identityVerifier(config: Config): IdentityVerifier {
  const problem = config.identityError;
  if (problem) {
    return async (request) => {
      if (bearerToken(request) !== undefined) throw new IdentityUnavailable(problem);
      return undefined;
    };
  }
  const settings = config.identity;
  if (!settings) return async () => undefined;
  const keys: KeySet = settings.jwks
    ? localKeySet(settings.jwks as { keys: unknown[] })
    : remoteKeySet(settings.jwksUrl as URL);
  return async (request) => {
    const token = bearerToken(request);
    if (token === undefined) return undefined;
    try {
      const claims = await verifyJwt(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: IDENTITY_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      // verifyJwt has checked that exp (and iat, if present) are finite numbers, iat not in the future.
      const from = (claims.iat as number | undefined) ?? Math.floor(Date.now() / 1000);
      if ((claims.exp as number) - from > settings.maxLifetimeSeconds + CLOCK_TOLERANCE_SECONDS) {
        throw new JwtError("the token lives longer than IDENTITY_MAX_LIFETIME_SECONDS");
      }
      return claims;
    } catch (cause) {
      if (cause instanceof JwtError && cause.unavailable) throw new IdentityUnavailable(cause.message);
      throw new ApiError("invalid_token", undefined, { cause });
    }
  };
}
