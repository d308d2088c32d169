/**
 * The event stream's wire format (text/event-stream, docs/spec/ofrep-event-streams.yaml): OFREP's
 * `refetchEvaluation` message carrying the version, comments as heartbeats, `retry` and `id` fields
 * for reconnects. Pure, no I/O.
 */

/** The version a notification announces and when it was issued (epoch seconds). */
export interface Change {
  version: number;
  issuedAt: number;
}

/**
 * A change notification. `id` and `etag` are the served version: a reconnecting EventSource sends it
 * back as Last-Event-ID, and a re-fetch passes it as `flagConfigEtag` so the answer is never older.
 * `version` repeats it as a number for plain clients; OFREP providers ignore members they do not know.
 */
export function changeEvent(change: Change, retryMs?: number): string {
  const data = JSON.stringify({
    type: "refetchEvaluation",
    etag: String(change.version),
    lastModified: change.issuedAt,
    version: change.version,
  });
  return `${retryMs === undefined ? "" : `retry: ${retryMs}\n`}id: ${change.version}\ndata: ${data}\n\n`;
}

/**
 * Sets the client's Last-Event-ID without firing a message (an event with no data is not dispatched,
 * but its id is kept: HTML's "dispatch the event" steps), and the reconnection delay.
 */
export function silentId(version: number, retryMs: number): string {
  return `retry: ${retryMs}\nid: ${version}\n\n`;
}

/** A comment: keeps idle proxies from cutting the stream, and lets the worker notice a gone client. */
export function heartbeat(): string {
  return ": ping\n\n";
}

/**
 * The version a reconnecting client last saw (its Last-Event-ID), or undefined when there is none or
 * it is not one of ours (then the client is treated as new).
 */
export function parseLastEventId(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
