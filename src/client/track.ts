/**
 * OpenFeature's tracking API (`client.track(name, details)`) for edgeflags: `withOutcomeTracking`
 * gives a web provider (the OFREP web provider, or any other) the `track` method the web SDK calls,
 * which sends the events to the worker's POST /v1/events. Events of one tick go in one request:
 * `navigator.sendBeacon` when the page has it (it survives the page closing), else `fetch` with
 * `keepalive`, both as text/plain so no CORS preflight is needed. Which variant the visitor saw is
 * never sent: the worker attributes events to what it serves. I/O: that one request per batch.
 */

import { EVENT_NAME } from "../observe/outcomes";

/** Events per request: the worker's default EVENTS_MAX_PER_REQUEST. */
const MAX_EVENTS = 50;

export interface OutcomeTrackingOptions {
  /** The worker's API root: the OFREP provider's `baseUrl` (with API_PREFIX in gateway mode). */
  baseUrl: string;
  /** Flag keys to attribute events to; all client-visible flags when left out. */
  flags?: string[];
  /** Use navigator.sendBeacon when there is one (default true). */
  beacon?: boolean;
  /** Where a dropped event is reported (a name the worker would refuse); console.warn by default. */
  warn?: (message: string) => void;
}

interface WireEvent {
  name: string;
  value?: number;
  details?: Record<string, unknown>;
}

/** The signature the web SDK calls a provider's `track` with. */
type Track = (name: string, context: Record<string, unknown>, details?: Record<string, unknown>) => void;

/**
 * Returns `provider` with a `track` method (set on the instance; the provider is otherwise untouched),
 * so `OpenFeature.getClient().track("error")` reaches the worker.
 */
export function withOutcomeTracking<P extends object>(
  provider: P,
  options: OutcomeTrackingOptions,
): P & { track: Track } {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/events`;
  const warn = options.warn ?? ((m: string) => console.warn(m));
  let queue: WireEvent[] = [];
  let queuedContext: string | undefined;

  const send = (body: string) => {
    const nav = (globalThis as { navigator?: { sendBeacon?: (url: string, data: string) => boolean } })
      .navigator;
    // A string is sent as text/plain;charset=UTF-8: a simple request, no preflight.
    if (options.beacon !== false && typeof nav?.sendBeacon === "function" && nav.sendBeacon(url, body))
      return;
    // keepalive: the request outlives the page, as a beacon does (Workers' types leave it out).
    const init = {
      method: "POST",
      body,
      keepalive: true,
      credentials: "include",
      headers: { "content-type": "text/plain;charset=UTF-8" },
    } as RequestInit;
    fetch(url, init).catch(() => {});
  };

  const flush = () => {
    const events = queue;
    const context = queuedContext;
    queue = [];
    queuedContext = undefined;
    for (let i = 0; i < events.length; i += MAX_EVENTS) {
      send(
        `{"events":${JSON.stringify(events.slice(i, i + MAX_EVENTS))},"context":${context}${
          options.flags ? `,"flags":${JSON.stringify(options.flags)}` : ""
        }}`,
      );
    }
  };

  const track: Track = (name, context, details = {}) => {
    if (!EVENT_NAME.test(name)) {
      warn(`edgeflags: outcome event ${JSON.stringify(name)} dropped: names are 1-64 of A-Z a-z 0-9 _ . : -`);
      return;
    }
    const contextJson = JSON.stringify(context);
    // A batch carries one context: a change of context (a sign-in) sends what came before first.
    if (queue.length > 0 && contextJson !== queuedContext) flush();
    const { value, ...rest } = details;
    const event: WireEvent = { name };
    if (typeof value === "number" && Number.isFinite(value)) event.value = value;
    if (Object.keys(rest).length > 0) event.details = rest;
    if (queue.length === 0) queueMicrotask(flush);
    queuedContext = contextJson;
    queue.push(event);
  };
  return Object.assign(provider, { track });
}
