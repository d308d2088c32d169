/**
 * The event stream's wire format (text/event-stream, docs/spec/ofrep-event-streams.yaml): OFREP's
 * `refetchEvaluation` message carrying the version, comments as heartbeats, `retry` and `id` fields
 * for reconnects. Pure, no I/O.
 */

/**
 * The version a notification announces and when it was issued (epoch seconds), and the generation
 * of the guard state applied to it (0: none): a guard trip changes what a version serves.
 */
export interface Change {
  version: number;
  issuedAt: number;
  guards?: number;
}

/** Where a client is: the version and guard generation it was last told of. */
export interface Mark {
  version: number;
  guards: number;
}

/** Whether `a` is later than `b`: a newer version, or the same one under a newer guard state. */
export function isAfter(a: Mark, b: Mark): boolean {
  return a.version > b.version || (a.version === b.version && a.guards > b.guards);
}

/** The event id of a mark: `12`, or `12.3` once guard state generation 3 applies to version 12. */
const idOf = (version: number, guards = 0) => (guards > 0 ? `${version}.${guards}` : String(version));

/**
 * A change notification. `id` is the served version (and guard generation): a reconnecting
 * EventSource sends it back as Last-Event-ID. `etag` is the version: a re-fetch passes it as
 * `flagConfigEtag` so the answer is never older.
 * `version` repeats it as a number for plain clients; OFREP providers ignore members they do not know.
 */
export function changeEvent(change: Change, retryMs?: number): string {
  const data = JSON.stringify({
    type: "refetchEvaluation",
    etag: String(change.version),
    lastModified: change.issuedAt,
    version: change.version,
  });
  return `${retryMs === undefined ? "" : `retry: ${retryMs}\n`}id: ${idOf(change.version, change.guards)}\ndata: ${data}\n\n`;
}

/**
 * Sets the client's Last-Event-ID without firing a message (an event with no data is not dispatched,
 * but its id is kept: HTML's "dispatch the event" steps), and the reconnection delay.
 */
export function silentId(version: number, retryMs: number, guards = 0): string {
  return `retry: ${retryMs}\nid: ${idOf(version, guards)}\n\n`;
}

/** A comment: keeps idle proxies from cutting the stream, and lets the worker notice a gone client. */
export function heartbeat(): string {
  return ": ping\n\n";
}

/**
 * The version (and guard generation) a reconnecting client last saw (its Last-Event-ID), or
 * undefined when there is none or it is not one of ours (then the client is treated as new).
 */
export function parseLastEventId(value: string | null | undefined): Mark | undefined {
  const m = /^(\d{1,15})(?:\.(\d{1,15}))?$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  return { version: Number(m[1]), guards: m[2] === undefined ? 0 : Number(m[2]) };
}
