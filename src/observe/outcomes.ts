/**
 * The body of POST /v1/events: outcome events (`error`, `conversion`, ...) a front-end reports, with
 * the visitor's context and an optional list of flags to attribute them to. Validated here, strictly:
 * unknown fields are refused, names are short and from a small alphabet, so what reaches the counter
 * (and Analytics Engine) is bounded. What variant the client was served is never read: the worker
 * attributes events itself. Pure: plain data in, a result out, no I/O.
 */

import { EVENT_NAME } from "../flags/defaults";

/** Event names: letters, digits and `_ . : -`, starting with a letter or digit, 1-64 characters. */
export { EVENT_NAME };

/** Fields an event may have. `details` (OpenFeature's tracking details) is accepted and never read. */
const EVENT_FIELDS = new Set(["name", "value", "details"]);
/** Fields the body may have. */
const BODY_FIELDS = new Set(["events", "context", "flags"]);

export interface OutcomeBody {
  /** One name per event, in order. */
  names: string[];
  /** The OFREP-style context (`targetingKey` and attributes), when the body carries one. */
  context: Record<string, unknown> | undefined;
  /** Flag keys to attribute to (all client-visible flags when undefined). */
  flags: string[] | undefined;
}

export type OutcomeParse = { ok: true; body: OutcomeBody } | { ok: false; error: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates a parsed body: `maxEvents` events at most, `maxFlags` flag keys of `maxKeyLength` at most. */
export function parseOutcomes(
  body: unknown,
  limits: { maxEvents: number; maxFlags: number; maxKeyLength: number },
): OutcomeParse {
  if (!isObject(body)) return { ok: false, error: "the body must be a JSON object with an events array" };
  for (const field of Object.keys(body)) {
    if (!BODY_FIELDS.has(field)) {
      return {
        ok: false,
        error: `unknown field ${JSON.stringify(field.slice(0, 64))}: the body takes events, context and flags`,
      };
    }
  }
  const { events, context, flags } = body;
  if (!Array.isArray(events) || events.length === 0) {
    return { ok: false, error: "events must be a non-empty array" };
  }
  if (events.length > limits.maxEvents) {
    return { ok: false, error: `at most ${limits.maxEvents} events per request` };
  }
  const names: string[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!isObject(e)) return { ok: false, error: `events[${i}] must be an object` };
    for (const field of Object.keys(e)) {
      if (!EVENT_FIELDS.has(field)) {
        return {
          ok: false,
          error: `events[${i}]: unknown field ${JSON.stringify(field.slice(0, 64))}: an event takes name, value and details`,
        };
      }
    }
    if (typeof e.name !== "string" || !EVENT_NAME.test(e.name)) {
      return {
        ok: false,
        error: `events[${i}].name must be 1-64 characters of A-Z a-z 0-9 _ . : - (starting with a letter or digit)`,
      };
    }
    if (e.value !== undefined && (typeof e.value !== "number" || !Number.isFinite(e.value))) {
      return { ok: false, error: `events[${i}].value must be a finite number` };
    }
    if (e.details !== undefined && !isObject(e.details)) {
      return { ok: false, error: `events[${i}].details must be an object` };
    }
    names.push(e.name);
  }
  if (context !== undefined && !isObject(context)) return { ok: false, error: "context must be an object" };
  let keys: string[] | undefined;
  if (flags !== undefined) {
    if (!Array.isArray(flags) || flags.length > limits.maxFlags) {
      return { ok: false, error: `flags must be an array of at most ${limits.maxFlags} flag keys` };
    }
    for (const k of flags) {
      if (typeof k !== "string" || k === "" || k.length > limits.maxKeyLength) {
        return { ok: false, error: "flags must hold flag keys (strings)" };
      }
    }
    keys = flags as string[];
  }
  return { ok: true, body: { names, context, flags: keys } };
}
