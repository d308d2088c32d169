/**
 * Answers the API gives outside the happy path and around it: any error (the API's short body, or
 * OFREP's on OFREP routes), and the bulk answers' caching and 304. The one place that knows both an
 * error's status and its body. No I/O but the log.
 */
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { ApiError, echoKey, errorResponse, ofrepErrorCode } from "./errors";
import { logEvent } from "./runtime";
import type { BulkBody } from "./wire";

/** Evaluated answers are personal: revalidated, and never stored by shared caches. */
export const PRIVATE_CACHE = "private, no-cache";

/** Answers that depend on a preview token (src/preview): not stored by any cache, the browser's included. */
export const PREVIEW_CACHE = "private, no-store";

/** Seconds a client should wait before asking again, for the errors that pass. */
const RETRY_AFTER: Partial<Record<string, string>> = {
  no_snapshot: "5",
  too_many_streams: "10",
  version_unavailable: "1",
};

const JSON_TYPE = { "Content-Type": "application/json; charset=utf-8" };

/** The answer to a failed request; `key` names the flag of a single OFREP evaluation. */
export function errorAnswer(c: Context<AppEnv>, err: unknown, key?: string): Response {
  const code = err instanceof ApiError ? err.code : "internal";
  if (!(err instanceof ApiError) || code === "internal") {
    logEvent({ event: "request_failed", path: c.req.path, error: String(err) });
  }
  const { status, body } = errorResponse(code, err instanceof ApiError ? err.detail : undefined);
  const retryAfter = RETRY_AFTER[code];
  if (retryAfter) c.header("Retry-After", retryAfter);
  if (c.req.path.startsWith("/ofrep/")) {
    const ofrep = {
      ...(key === undefined ? {} : { key: echoKey(key) }),
      errorCode: ofrepErrorCode(code),
      errorDetails: body.message,
    };
    return c.json(ofrep, status as 400);
  }
  return c.json(body, status as 400);
}

/**
 * A bulk answer: its ETag, private caching, and a 304 when the client already has this body. With a
 * preview token (`preview`), the answer is not stored and its ETag is marked apart (`"preview-..."`),
 * so a preview answer never revalidates a normal one nor the other way round, even with equal bodies.
 */
export function bulkAnswer(c: Context<AppEnv>, body: BulkBody, preview = false): Response {
  const etag = preview ? `"preview-${body.etag.slice(1)}` : body.etag;
  c.header("ETag", etag);
  c.header("Cache-Control", preview ? PREVIEW_CACHE : PRIVATE_CACHE);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return c.body(body.text(), 200, JSON_TYPE);
}

/** Whether an If-None-Match header matches the ETag (weak comparison, as RFC 9110 asks for 304s). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}
