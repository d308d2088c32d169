/**
 * `edgeflags guard reset FLAG`: a short-lived compact JWS signed with a publisher key, naming the
 * environment, the snapshot version and the flag whose guard it re-arms. Verified where the trip lives
 * (the aggregator) with the worker's configured keys and trust policy, before anything changes:
 * algorithm allow-list, `typ`, `kid`, role and scope, signature, then environment, version and time.
 * A reset can only return a flag to what its signed snapshot says. Pure apart from WebCrypto.
 */
import { CompactSign } from "jose";
import { isMap } from "../flags/json-value";
import type { FlagDefinition } from "../flags/types";
import { classOf, inScope } from "../policy/policy";
import { type TokenProblem, verifySignedToken } from "../policy/signed-token";
import type { KeyRing } from "../snapshot/keys";
import type { SigningKey } from "../snapshot/sign";

export const GUARD_RESET_TYP = "edgeflags-guard-reset+jws";
/** Longest a reset stays usable (exp - iat), seconds. */
export const MAX_RESET_LIFETIME_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 60;
const MAX_RESET_LENGTH = 4000;
const PAYLOAD_FIELDS = new Set(["environment", "version", "flag", "iat", "exp"]);

export interface ResetPayload {
  environment: string;
  version: number;
  flag: string;
  /** Epoch seconds. */
  iat: number;
  exp: number;
}

export type ResetProblem = TokenProblem | "environment" | "version" | "flag" | "expired";

export type ResetCheck =
  | { ok: true; reset: ResetPayload; kid: string }
  | { ok: false; problem: ResetProblem };

/** Signs a reset for `flag` of `version`, valid for `lifetimeSeconds` (at most 600). */
export async function signGuardReset(
  input: { environment: string; version: number; flag: string; now: number; lifetimeSeconds?: number },
  signer: SigningKey,
): Promise<string> {
  const iat = Math.floor(input.now / 1000);
  const payload: ResetPayload = {
    environment: input.environment,
    version: input.version,
    flag: input.flag,
    iat,
    exp: iat + Math.min(input.lifetimeSeconds ?? MAX_RESET_LIFETIME_SECONDS, MAX_RESET_LIFETIME_SECONDS),
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: GUARD_RESET_TYP })
    .sign(signer.key);
}

/**
 * Verifies a reset against the keys (and policy) the worker trusts, the armed snapshot's environment,
 * version and flag definitions. Under a policy the key needs the publisher role and the flag in its
 * scope: a reset serves the risky variant again, which break-glass (on-call) keys may not do.
 */
export async function verifyGuardReset(
  token: string,
  options: {
    keys: KeyRing;
    environment: string;
    version: number;
    flags: Readonly<Record<string, FlagDefinition>>;
    now: number;
  },
): Promise<ResetCheck> {
  const refuse = (problem: ResetProblem): ResetCheck => ({ ok: false, problem });
  const checked = await verifySignedToken(token, options.keys, {
    typ: GUARD_RESET_TYP,
    maxLength: MAX_RESET_LENGTH,
    // A reset serves the risky variant again: break-glass (on-call) keys may not.
    role: "publisher",
    policyRequired: false,
  });
  if (!checked.ok) return refuse(checked.problem);
  const { key, payload: p } = checked;
  if (
    !isMap(p) ||
    Object.keys(p).some((f) => !PAYLOAD_FIELDS.has(f)) ||
    typeof p.environment !== "string" ||
    typeof p.flag !== "string" ||
    !Number.isSafeInteger(p.version) ||
    !Number.isSafeInteger(p.iat) ||
    !Number.isSafeInteger(p.exp)
  ) {
    return refuse("payload");
  }
  const reset = p as unknown as ResetPayload;
  if (reset.environment !== options.environment) return refuse("environment");
  if (reset.version !== options.version) return refuse("version");
  const flag = Object.hasOwn(options.flags, reset.flag) ? options.flags[reset.flag] : undefined;
  if (!flag?.guard) return refuse("flag");
  if (key && !inScope(key, reset.flag, classOf(flag))) return refuse("role");
  const now = Math.floor(options.now / 1000);
  if (
    reset.exp <= now ||
    reset.iat > now + CLOCK_TOLERANCE_SECONDS ||
    reset.exp <= reset.iat ||
    reset.exp - reset.iat > MAX_RESET_LIFETIME_SECONDS
  ) {
    return refuse("expired");
  }
  return { ok: true, reset, kid: checked.kid };
}
