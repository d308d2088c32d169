/**
 * Change notifications for open pages: OFREP event streams (Server-Sent Events) that say "the flags
 * changed, re-fetch" within seconds of the version this isolate serves changing, for the OFREP web
 * provider and for plain `EventSource` users of GET /v1/flags alike. Each isolate serves its own
 * streams, woken by its own version signal while streams are open (docs/propagation.md, "Event
 * streams", says why not a Durable Object). `sse` is the wire format, `hub` the per-isolate registry
 * (limit, wake-ups, which stream drives the signal), `pump` one stream's loop. No I/O here but the
 * injected writer and timers.
 */
export { type Stream, StreamHub, type StreamLimits } from "./hub";
export { type PumpOptions, pump } from "./pump";
export { changeEvent, heartbeat, parseLastEventId, silentId } from "./sse";
