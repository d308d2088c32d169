/**
 * The one place that turns failures into HTTP: every error the API can answer, its status and its
 * short, documented body. Causes stay in logs; clients never see a stack trace. No I/O.
 */

export const API_ERRORS = {
  bad_request: { status: 400, message: "the request is malformed" },
  parse_error: { status: 400, message: "the request body is not valid JSON" },
  invalid_context: { status: 400, message: "the evaluation context is invalid" },
  unauthorized: { status: 401, message: "missing or invalid credentials" },
  invalid_token: { status: 401, message: "the identity token is invalid" },
  intake_disabled: { status: 403, message: "snapshot intake is not enabled on this worker" },
  stats_disabled: { status: 403, message: "evaluation counts cannot be read on this worker" },
  explain_disabled: { status: 403, message: "explain needs SERVER_API_KEYS on this worker" },
  signal_disabled: { status: 403, message: "this worker has no version signal to report locations through" },
  guards_disabled: { status: 403, message: "this worker judges no guards" },
  not_found: { status: 404, message: "no such resource" },
  flag_not_found: { status: 404, message: "no such flag" },
  no_version_at: { status: 404, message: "no recorded snapshot was live at that time" },
  conflict: { status: 409, message: "the snapshot is not newer than the live one" },
  payload_too_large: { status: 413, message: "the request body is too large" },
  unsupported_media_type: { status: 415, message: "unsupported content type" },
  rate_limited: { status: 429, message: "too many events from this visitor; retry after the given seconds" },
  invalid_snapshot: { status: 422, message: "the snapshot was refused" },
  invalid_reset: { status: 422, message: "the guard reset was refused" },
  internal: { status: 500, message: "internal error" },
  no_snapshot: { status: 503, message: "no flag snapshot is loaded yet; use your code defaults" },
  too_many_streams: { status: 503, message: "this location holds all the event streams it may; retry later" },
  version_unavailable: {
    status: 503,
    message: "this location does not serve the announced version yet; retry shortly",
  },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** A failure the HTTP layer answers deliberately. `detail` is a short, safe extra for the client. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ApiErrorCode,
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ?? API_ERRORS[code].message, options);
  }
}

export interface ErrorBody {
  error: ApiErrorCode;
  message: string;
}

/**
 * Longest flag key an error body repeats. Flag names are at most 128 characters, so anything longer
 * is cut: a client sending a huge key gets a short answer, not its key back (twice).
 */
export const MAX_ECHOED_KEY = 256;

/** `key` as an error body may repeat it: cut to MAX_ECHOED_KEY characters, ending in "…" when cut. */
export function echoKey(key: string): string {
  if (key.length <= MAX_ECHOED_KEY) return key;
  let end = MAX_ECHOED_KEY - 1;
  // Never split a surrogate pair: a lone half would not be valid UTF-8 on the wire.
  const last = key.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  // "…" cannot end a flag name, so a cut key never reads as a real one.
  return `${key.slice(0, end)}…`;
}

/** OFREP's error code for each API error, for the OFREP routes' own error bodies. */
export function ofrepErrorCode(code: ApiErrorCode): "PARSE_ERROR" | "INVALID_CONTEXT" | "GENERAL" {
  if (code === "parse_error" || code === "bad_request" || code === "unsupported_media_type")
    return "PARSE_ERROR";
  if (code === "invalid_context") return "INVALID_CONTEXT";
  return "GENERAL";
}

/** The status and body for an error code. */
export function errorResponse(code: ApiErrorCode, detail?: string): { status: number; body: ErrorBody } {
  const { status, message } = API_ERRORS[code];
  return { status, body: { error: code, message: detail ?? message } };
}
