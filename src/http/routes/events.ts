/**
 * GET /v1/events: the event stream (Server-Sent Events) that tells open pages the flags changed, for
 * OFREP web providers (bulk evaluation advertises it in `eventStreams`) and plain `EventSource` users
 * alike. The stream is the environment's, not the visitor's: it carries versions, never flags. Each
 * isolate serves its own streams (src/streams); past STREAMS_MAX_PER_ISOLATE it answers 503
 * `too_many_streams`. I/O: the response stream, timers, and the store and signal through the ticker.
 */
import { Hono } from "hono/tiny";
import { gatewaySettings } from "../../gateway/settings";
import { parseLastEventId, pump } from "../../streams/index";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

export const eventsRoutes = new Hono<AppEnv>();

/** Where the stream lives, relative to the API root: OFREP's `endpoint.requestUri` adds the prefix. */
export const EVENTS_PATH = "/v1/events";

/** A new client is told of a version that began serving this recently (it may have missed it). */
const RECENT_MS = 10_000;
/** Reconnection delays are spread over this range, ms, so a restart does not bring every client back at once. */
const RETRY_MIN_MS = 1000;
const RETRY_SPREAD_MS = 2000;

const encoder = new TextEncoder();

/**
 * A write that has not gone through within `ms` counts as failed: a client that stopped reading, or
 * one gone without the runtime saying so, frees its place instead of holding it.
 */
function bounded(write: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the client is not reading")), ms);
  });
  return Promise.race([write, late]).finally(() => clearTimeout(timer));
}

/**
 * The `eventStreams` member OFREP's bulk answer advertises (with its leading comma), or "" when
 * streams are off. An `endpoint` without origin: the provider uses its own base URL's origin, so the
 * advertisement holds behind any host name or proxy.
 */
export function eventStreamsMember(env: AppEnv["Bindings"], streamsOn: boolean): string {
  if (!streamsOn) return "";
  const g = gatewaySettings(env);
  const requestUri = `${g.enabled ? g.apiPrefix : ""}${EVENTS_PATH}`;
  return `,"eventStreams":[{"type":"sse","endpoint":{"requestUri":${JSON.stringify(requestUri)}}}]`;
}

eventsRoutes.get("/", async (c) => {
  const rt = c.get("rt");
  const { store, streams, signal, config } = rt;
  if (!streams || !store) {
    if (config.streams.maxPerIsolate === 0) throw new ApiError("not_found", "event streams are turned off");
    throw new ApiError("no_snapshot");
  }
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  // A cold isolate learns what it serves before telling anyone; nothing published yet is fine.
  await store.get(waitUntil);
  const stream = streams.open();
  if (!stream) throw new ApiError("too_many_streams");

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const gone = writer.closed.then(
    () => {},
    () => {},
  );
  const interval = config.signalIntervalMs > 0 && signal.watcher ? config.signalIntervalMs : config.refreshMs;
  // Not in waitUntil: the response's own stream keeps this request alive while the loop writes.
  void pump({
    hub: streams,
    stream,
    write: (text) => bounded(writer.write(encoder.encode(text)), Math.min(config.streams.heartbeatMs, 5000)),
    sleep(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      return { done, cancel: () => clearTimeout(timer) };
    },
    gone,
    tick: () => {
      store.get(waitUntil).catch(() => {});
    },
    tickMs: Math.max(250, interval / 4),
    lastEventId: parseLastEventId(c.req.header("last-event-id")),
    retryMs: RETRY_MIN_MS + Math.floor(Math.random() * RETRY_SPREAD_MS),
    recentMs: RECENT_MS,
    now: signal.now,
  }).finally(() => writer.close().catch(() => {}));

  return new Response(readable, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // Never stored, never compressed or buffered on the way.
      "Cache-Control": "no-store, no-transform",
    },
  });
});
