/**
 * Request-side helpers shared by the routes: the snapshot for this request, body reading with
 * content-type and size checks before parsing, constant-time secrets, ETag matching. No I/O beyond the body.
 */
import type { Context } from "hono";
import type { VerifiedSnapshot } from "../snapshot/verify";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

/** Longest a request waits for the version a client was told of (`minVersion`), ms. */
export const REACH_TIMEOUT_MS = 2000;

/**
 * The snapshot to evaluate against, or the `no_snapshot` error (clients then use code defaults).
 * With `minVersion` (a re-fetch after an event stream announced that version), never an older one:
 * the isolate fetches it first, or answers `version_unavailable`.
 */
export async function snapshotFor(c: Context<AppEnv>, minVersion?: number): Promise<VerifiedSnapshot> {
  const { store, signal } = c.get("rt");
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  let snapshot = store ? await store.get(waitUntil) : undefined;
  // Without the signal there is no strongly consistent way to that version: the store's is served.
  if (store && signal.watcher && minVersion !== undefined && (snapshot?.payload.version ?? 0) < minVersion) {
    if (!(await signal.watcher.reach(minVersion, REACH_TIMEOUT_MS)))
      throw new ApiError("version_unavailable");
    snapshot = await store.get(waitUntil);
  }
  if (!snapshot) throw new ApiError("no_snapshot");
  return snapshot;
}

/**
 * The version an event stream's notification carried, from a re-fetch's `flagConfigEtag` query
 * parameter (OFREP's name, used by /v1/flags too). Anything else is no version: ignored, as OFREP
 * asks of metadata it does not understand.
 */
export function notifiedVersion(url: string): number | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  for (const [name, value] of queryPairs(url.slice(q + 1))) {
    if (name === FLAG_CONFIG_ETAG) return versionParam(value);
  }
  return undefined;
}

/** A `flagConfigEtag` value as a version, or undefined when it is not one of ours. */
export function versionParam(value: string): number | undefined {
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** The re-fetch parameters of OFREP event streams (docs/spec/ofrep-openapi.yaml). */
export const FLAG_CONFIG_ETAG = "flagConfigEtag";
export const FLAG_CONFIG_LAST_MODIFIED = "flagConfigLastModified";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;
/** What `navigator.sendBeacon` sends for a string: JSON inside, and no CORS preflight. */
const TEXT_PLAIN = /^text\/plain\b/i;

/** The body as JSON, after checking its content type (size is checked by the body-limit middleware). */
export async function readJson(
  c: Context<AppEnv>,
  { textPlain = false }: { textPlain?: boolean } = {},
): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!(JSON_TYPE.test(type) || (textPlain && TEXT_PLAIN.test(type)))) {
    throw new ApiError(
      "unsupported_media_type",
      textPlain
        ? "send the body as application/json or text/plain holding JSON"
        : "send the body as application/json",
    );
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ApiError("parse_error", undefined, { cause });
  }
}

const encoder = new TextEncoder();
const digest = (text: string) => crypto.subtle.digest("SHA-256", encoder.encode(text));

/** Whether a presented secret is one of the configured ones. */
export type SecretCheck = (presented: string | undefined) => Promise<boolean>;

/**
 * A constant-time check against fixed secrets (the publish token, the server API keys). Their digests
 * are computed once, on first use, so a request hashes only what it presents.
 */
export function secretCheck(secrets: readonly string[]): SecretCheck {
  let known: Promise<ArrayBuffer[]> | undefined;
  return async (presented) => {
    if (!presented || secrets.length === 0) return false;
    known ??= Promise.all(secrets.map(digest));
    const [a, digests] = await Promise.all([digest(presented), known]);
    let ok = false;
    for (const b of digests) if (crypto.subtle.timingSafeEqual(a, b)) ok = true;
    return ok;
  };
}

/** Anything URLSearchParams would decode or re-encode: escapes, "+", and characters outside ASCII. */
const NEEDS_DECODING = /[%+]|[^\x20-\x7e]/;

/**
 * The name-value pairs of a query string, exactly as URLSearchParams reads them. A plain ASCII query
 * with nothing to decode (the usual `targetingKey=...&plan=...`) is split directly: in workerd,
 * URLSearchParams is native and each call crosses into the runtime, which costs more than splitting.
 */
export function queryPairs(query: string): [string, string][] {
  if (NEEDS_DECODING.test(query)) return [...new URLSearchParams(query)];
  const pairs: [string, string][] = [];
  // Like URLSearchParams, a leading "?" is not part of the first name.
  for (const part of (query.startsWith("?") ? query.slice(1) : query).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    pairs.push(eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}
