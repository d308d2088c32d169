/**
 * Preview tokens: short-lived, signed overrides (flag -> variant) for QA and demos. A compact JWS with
 * `typ: edgeflags-preview+jws`, signed by a key whose root-policy roles include `preview`; its
 * payload is `PreviewPayload`. This module decides whether a token may be trusted at all (signature,
 * key role, environment, lifetime, shape); which of its overrides apply to a request is
 * src/preview/apply.ts. Pure apart from WebCrypto (src/snapshot/jws.ts); `now` is passed in.
 * Signing is src/preview/sign.ts, which the worker never imports.
 */
import { MAX_NAME_LENGTH } from "../flags/defaults";
import { type KeyPolicy, keyPolicy } from "../policy/policy";
import { type TokenProblem, verifySignedToken } from "../policy/signed-token";
import type { KeyRing } from "../snapshot/keys";

/** JWS `typ` of every preview token: never a snapshot's or an approval's, so none passes for another. */
export const PREVIEW_TYP = "edgeflags-preview+jws";

/** The query parameter a preview link carries, and the cookie that keeps it. */
export const PREVIEW_PARAM = "ef_preview";
export const PREVIEW_COOKIE = "ef_preview";

/**
 * Longest lifetime a preview token may have (exp - iat): 7 days, a sprint's demo or a QA cycle. The
 * worker's PREVIEW_MAX_LIFETIME_SECONDS may lower it, never raise it.
 */
export const MAX_PREVIEW_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

/** Most overrides in one token. */
export const MAX_PREVIEW_FLAGS = 25;

/**
 * Longest token, in characters (compact JWS is ASCII). Browsers keep a cookie of up to 4096 bytes of
 * name and value; this leaves room for the name.
 */
export const MAX_PREVIEW_TOKEN_LENGTH = 4000;

/** Longest `sub` (the bound targeting key): the worker's own limit on targeting keys. */
export const MAX_PREVIEW_SUB_LENGTH = 256;

/** Clock skew allowed between the signer and the edge, on `iat` only: `exp` is never stretched. */
export const PREVIEW_CLOCK_TOLERANCE_SECONDS = 60;

/** What a preview token says. Times are seconds since the epoch, as in JWTs. */
export interface PreviewPayload {
  /** The environment the overrides are for; any other refuses the token. */
  environment: string;
  /** Flag key -> variant name. */
  flags: Record<string, string>;
  iat: number;
  exp: number;
  /** When set, the overrides apply only to requests with exactly this targeting key. */
  sub?: string;
}

/** A verified token: what it overrides and what the key that signed it may touch. */
export interface PreviewGrant {
  kid: string;
  /** The signing key's policy entry (unrevoked, with the preview role): its scope limits the flags. */
  key: KeyPolicy;
  flags: ReadonlyMap<string, string>;
  sub?: string;
  iat: number;
  exp: number;
}

/** Why a token was refused (stable codes for tests and debugging; visitors never see them). */
export type PreviewProblem = TokenProblem | "environment" | "expired" | "not_yet_valid" | "lifetime";

export type PreviewCheck = { ok: true; grant: PreviewGrant } | { ok: false; problem: PreviewProblem };

export interface PreviewVerifyOptions {
  keys: KeyRing;
  /** The environment this worker serves. */
  environment: string;
  /** Epoch milliseconds. */
  now: number;
  /** Longest accepted lifetime, seconds; capped at MAX_PREVIEW_LIFETIME_SECONDS. */
  maxLifetimeSeconds?: number;
}

const PAYLOAD_FIELDS = new Set(["environment", "flags", "iat", "exp", "sub"]);
const refuse = (problem: PreviewProblem): PreviewCheck => ({ ok: false, problem });

/** Whether the key ring's policy gives any unrevoked key the preview role (else previews are off). */
export function previewEnabled(keys: KeyRing | undefined): boolean {
  const policy = keys?.policy;
  if (!policy) return false;
  for (const kid of policy.keys.keys()) {
    if (keys.has(kid) && keyPolicy(policy, kid)?.roles.includes("preview")) return true;
  }
  return false;
}

/**
 * Verifies a preview token. Everything that needs no crypto is checked first (size, header, key and
 * its role); never throws. Without a policy, or for a key that is unknown, revoked or has no preview
 * role, the token is refused.
 */
export async function verifyPreviewToken(
  token: string,
  options: PreviewVerifyOptions,
): Promise<PreviewCheck> {
  const checked = await verifySignedToken(token, options.keys, {
    typ: PREVIEW_TYP,
    maxLength: MAX_PREVIEW_TOKEN_LENGTH,
    role: "preview",
    // Without a policy no key has the preview role: previews are off.
    policyRequired: true,
  });
  if (!checked.ok) return refuse(checked.problem);
  const raw = checked.payload;
  const key = checked.key as KeyPolicy;
  const shape = previewPayloadProblem(raw);
  if (shape) return refuse("payload");
  const p = raw as PreviewPayload;
  if (p.environment !== options.environment) {
    return refuse("environment");
  }
  const timing = previewLifetimeCheck(p, options.now, options.maxLifetimeSeconds);
  if (timing) return refuse(timing);
  return {
    ok: true,
    grant: {
      kid: checked.kid,
      key,
      flags: new Map(Object.entries(p.flags)),
      ...(p.sub === undefined ? {} : { sub: p.sub }),
      iat: p.iat,
      exp: p.exp,
    },
  };
}

/**
 * The lifetime checks (shared with the CLI): not expired, not issued in the future (beyond the clock
 * tolerance), and living no longer than the maximum (`maxLifetimeSeconds`, capped at 7 days).
 */
export function previewLifetimeCheck(
  p: Pick<PreviewPayload, "iat" | "exp">,
  now: number,
  maxLifetimeSeconds = MAX_PREVIEW_LIFETIME_SECONDS,
): "expired" | "not_yet_valid" | "lifetime" | undefined {
  const nowSeconds = Math.floor(now / 1000);
  const max = Math.min(maxLifetimeSeconds, MAX_PREVIEW_LIFETIME_SECONDS);
  if (p.exp <= nowSeconds) return "expired";
  if (p.iat > nowSeconds + PREVIEW_CLOCK_TOLERANCE_SECONDS) return "not_yet_valid";
  if (p.exp <= p.iat || p.exp - p.iat > max) return "lifetime";
  return undefined;
}

/**
 * What is wrong with a payload's shape, or undefined. Shared by the worker and the CLI, so the CLI
 * never signs what the worker refuses. Unknown fields are refused: an older worker must not ignore a
 * restriction a newer signer added.
 */
export function previewPayloadProblem(x: unknown): string | undefined {
  if (!isMap(x)) return "not an object";
  for (const field of Object.keys(x)) if (!PAYLOAD_FIELDS.has(field)) return `unknown field ${field}`;
  if (typeof x.environment !== "string" || x.environment === "") return "environment missing";
  if (!isMap(x.flags)) return "flags missing";
  const entries = Object.entries(x.flags);
  if (entries.length === 0) return "flags is empty";
  if (entries.length > MAX_PREVIEW_FLAGS) return `more than ${MAX_PREVIEW_FLAGS} flags`;
  for (const [flag, variant] of entries) {
    if (flag === "" || flag.length > MAX_NAME_LENGTH)
      return `flag name ${JSON.stringify(flag.slice(0, 40))} is not a flag name`;
    if (typeof variant !== "string" || variant === "" || variant.length > MAX_NAME_LENGTH) {
      return `flags.${flag} must be a variant name`;
    }
  }
  if (!Number.isSafeInteger(x.iat) || (x.iat as number) < 0) return "iat must be whole seconds";
  if (!Number.isSafeInteger(x.exp) || (x.exp as number) < 0) return "exp must be whole seconds";
  if (
    x.sub !== undefined &&
    (typeof x.sub !== "string" || x.sub === "" || x.sub.length > MAX_PREVIEW_SUB_LENGTH)
  ) {
    return `sub must be a targeting key of 1-${MAX_PREVIEW_SUB_LENGTH} characters`;
  }
  return undefined;
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
