/**
 * The checks every short-lived token signed by one of the worker's keys shares (preview links,
 * guard resets): compact JWS of bounded size, a header of `alg`, `kid` and `typ` only (no `crit`,
 * `jku`, embedded keys...), an allowed algorithm, the token's own `typ` (so no token passes for
 * another kind, or for a snapshot), a trusted key of that algorithm, the role the token needs under
 * the root policy, then the signature and a JSON payload. Everything that needs no crypto is checked
 * first; never throws. What the payload says is the caller's to check. Pure apart from WebCrypto.
 */
import * as base64url from "../snapshot/base64url";
import { compactParts, compactSignatureVerifies, decodeHeader } from "../snapshot/jws";
import { isSnapshotAlgorithm, type KeyRing } from "../snapshot/keys";
import { type KeyPolicy, keyPolicy, type Role } from "./policy";

export type TokenProblem =
  | "too_large"
  | "malformed"
  | "alg"
  | "typ"
  | "kid"
  | "role"
  | "signature"
  | "payload";

export type TokenCheck =
  | {
      ok: true;
      kid: string;
      /** The key's policy entry, when the ring has a policy (unrevoked, with `role`). */
      key: KeyPolicy | undefined;
      payload: unknown;
    }
  | { ok: false; problem: TokenProblem };

export interface TokenRules {
  typ: string;
  /** Longest token, in characters. */
  maxLength: number;
  /** The role the signing key needs under the policy. */
  role: Role;
  /** Without a policy: refuse (true), or accept any trusted key (false). */
  policyRequired: boolean;
}

const HEADER_FIELDS = new Set(["alg", "kid", "typ"]);
const decoder = new TextDecoder();

export async function verifySignedToken(
  token: string,
  keys: KeyRing,
  rules: TokenRules,
): Promise<TokenCheck> {
  const refuse = (problem: TokenProblem): TokenCheck => ({ ok: false, problem });
  if (typeof token !== "string") return refuse("malformed");
  if (token.length > rules.maxLength) return refuse("too_large");
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return refuse("malformed");
  const parts = compactParts(token);
  const header = parts && decodeHeader(parts[0]);
  if (parts === undefined || header === undefined) return refuse("malformed");
  for (const field of Object.keys(header)) if (!HEADER_FIELDS.has(field)) return refuse("malformed");
  if (!isSnapshotAlgorithm(header.alg)) return refuse("alg");
  if (header.typ !== rules.typ) return refuse("typ");
  const kid = header.kid;
  const trusted = typeof kid === "string" ? keys.get(kid) : undefined;
  if (!trusted || trusted.alg !== header.alg) return refuse("kid");
  const policy = keys.policy;
  const key = policy ? keyPolicy(policy, trusted.kid) : undefined;
  // A key revoked or not in the policy, or without the role; or no policy where one is required.
  if ((policy || rules.policyRequired) && !key?.roles.includes(rules.role)) return refuse("role");
  if (!(await compactSignatureVerifies(trusted, token, parts))) return refuse("signature");
  try {
    return {
      ok: true,
      kid: trusted.kid,
      key,
      payload: JSON.parse(decoder.decode(base64url.decode(parts[1]))),
    };
  } catch {
    return refuse("payload");
  }
}
