/**
 * Verifies an `Authorization: Bearer` identity token (JWT) against the configured issuer, audience
 * and JWKS. Its claims become trusted attributes. A remote JWKS is fetched (and cached) by jose.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Config } from "./config";
import { ApiError } from "./errors";

const IDENTITY_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

export type IdentityVerifier = (request: Request) => Promise<Record<string, unknown> | undefined>;

/**
 * A verifier for the configured identity settings. Without identity settings the Authorization header
 * is not read (it may be meant for someone else); with them, a present but invalid token is a 401.
 */
export function identityVerifier(config: Config): IdentityVerifier {
  const settings = config.identity;
  if (!settings) return async () => undefined;
  let keys: JWTVerifyGetKey;
  if (settings.jwks) {
    keys = createLocalJWKSet(JSON.parse(settings.jwks));
  } else {
    keys = createRemoteJWKSet(new URL(settings.jwksUrl as string));
  }
  return async (request) => {
    const header = request.headers.get("authorization");
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError("invalid_token", "Authorization must be 'Bearer <token>'");
    try {
      const { payload } = await jwtVerify(match[1] as string, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: IDENTITY_ALGORITHMS,
        clockTolerance: 30,
      });
      return payload as Record<string, unknown>;
    } catch (cause) {
      throw new ApiError("invalid_token", undefined, { cause });
    }
  };
}
