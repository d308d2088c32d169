/**
 * Preview links on requests: a token in `?ef_preview=` (which also sets the cookie, or clears it when
 * the token is no good) or in the `ef_preview` cookie. Shared by the API routes and the gateway. Only
 * WebCrypto (the token's signature); nothing at all when no key may sign previews.
 */
import type { Context } from "hono";
import {
  PREVIEW_COOKIE,
  PREVIEW_PARAM,
  type PreviewGrant,
  previewEnabled,
  verifyPreviewToken,
} from "../preview/token";
import type { KeyRing } from "../snapshot/keys";
import type { AppEnv } from "./app-env";
import type { Config } from "./config";
import { readCookie } from "./context";

export interface PreviewState {
  /** The verified token, when the request carries one that verifies. */
  grant: PreviewGrant | undefined;
  /** The Set-Cookie value to send: the token (from the query), or its removal. */
  cookie: string | undefined;
}

const NONE: PreviewState = Object.freeze({ grant: undefined, cookie: undefined });

const enabledFor = new WeakMap<KeyRing, boolean>();

function enabled(keys: KeyRing | undefined): keys is KeyRing {
  if (!keys) return false;
  let on = enabledFor.get(keys);
  if (on === undefined) {
    on = previewEnabled(keys);
    enabledFor.set(keys, on);
  }
  return on;
}

/** The `ef_preview` query value: undefined when absent, "" when present but empty. */
function queryToken(url: string): string | undefined {
  const q = url.indexOf("?");
  if (q < 0 || url.indexOf(PREVIEW_PARAM, q) < 0) return undefined;
  const params = new URL(url).searchParams;
  return params.has(PREVIEW_PARAM) ? (params.get(PREVIEW_PARAM) ?? "") : undefined;
}

/**
 * The request's preview: a query token wins over the cookie and sets it (Max-Age until the token's
 * expiry) when it verifies, or clears it when it does not (an empty `?ef_preview=` ends a preview).
 * A cookie that no longer verifies (expired, key revoked) is cleared too. Invalid tokens are never an
 * error for the visitor: the request is evaluated as if there were none. Without a policy giving some
 * key the preview role, neither the query nor the cookie is read.
 */
export async function previewOf(
  request: Request,
  keys: KeyRing | undefined,
  config: Config,
  now: number,
): Promise<PreviewState> {
  if (!enabled(keys)) return NONE;
  const fromQuery = queryToken(request.url);
  const token = fromQuery ?? readCookie(request.headers.get("cookie"), PREVIEW_COOKIE);
  if (token === undefined) return NONE;
  const check =
    token === ""
      ? undefined
      : await verifyPreviewToken(token, {
          keys,
          environment: config.environment,
          now,
          maxLifetimeSeconds: config.preview.maxLifetimeSeconds,
        });
  if (!check?.ok) return { grant: undefined, cookie: previewCookie(config, undefined, now) };
  const grant = check.grant;
  return {
    grant,
    cookie: fromQuery === undefined ? undefined : previewCookie(config, { token, grant }, now),
  };
}

/**
 * The Set-Cookie value keeping a preview token until it expires, or (without one) removing it.
 * HttpOnly and Secure; SameSite as the anonymous-id cookie's, and Partitioned with SameSite=None (see
 * `anonCookieHeader` in context.ts): the removal carries the same attributes, or it would name
 * another cookie.
 */
export function previewCookie(
  config: Config,
  set: { token: string; grant: PreviewGrant } | undefined,
  now: number,
): string {
  const { sameSite } = config.preview;
  const partitioned = sameSite === "None" ? "; Partitioned" : "";
  const value = set ? set.token : "";
  const maxAge = set ? Math.max(1, set.grant.exp - Math.floor(now / 1000)) : 0;
  return `${PREVIEW_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=${sameSite}${partitioned}`;
}

/** Runs `previewOf` for a route and adds its Set-Cookie to the response. */
export async function routePreview(c: Context<AppEnv>, now: number): Promise<PreviewGrant | undefined> {
  const rt = c.get("rt");
  const state = await previewOf(c.req.raw, rt.keys, rt.config, now);
  if (state.cookie) c.header("Set-Cookie", state.cookie, { append: true });
  return state.grant;
}
