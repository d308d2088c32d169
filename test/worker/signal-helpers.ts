/**
 * Doubles for the version-signal tests: a KV binding that lags like a distant location, a fake clock,
 * the real beacon for an environment, and a beacon that fails. No I/O beyond the test's own bindings.
 */
import type { Beacon } from "../../src/signal/types";
import { testEnv } from "./helpers";

export interface Clock {
  t: number;
  now: () => number;
  advance(ms: number): number;
}

export function clock(start = Date.now()): Clock {
  const c: Clock = {
    t: start,
    now: () => c.t,
    advance(ms) {
      c.t += ms;
      return c.t;
    },
  };
  return c;
}

/** KV's worst case as the issue states it: for `lagMs` after a write, reads return the old value. */
export const KV_LAG_MS = 60_000;

/**
 * A KV binding that serves the value a key had before its last write until `lagMs` after that write
 * (by the injected clock), for every key or only those `lags` selects. Writes land at once underneath,
 * as in KV's central store; only this "location" sees them late. Honest and deterministic: nothing
 * depends on real time.
 */
export function laggingKv(c: Clock, lags: (key: string) => boolean = () => true, lagMs = KV_LAG_MS) {
  const inner = testEnv.FLAGS;
  const writes = new Map<string, { before: string | null; at: number }>();
  const stale = (key: string) => {
    const w = writes.get(key);
    return w && lags(key) && c.now() - w.at < lagMs ? w : undefined;
  };
  const kv = {
    async get(key: string, options?: unknown) {
      const w = stale(key);
      if (!w) return inner.get(key, options as "text");
      const type = typeof options === "string" ? options : (options as { type?: string } | undefined)?.type;
      return w.before !== null && type === "json" ? JSON.parse(w.before) : w.before;
    },
    async put(key: string, value: string) {
      // Within a lag window the old value stays the one this location sees.
      const before = stale(key)?.before ?? (await inner.get(key, "text"));
      writes.set(key, { before, at: c.now() });
      await inner.put(key, value);
    },
    list: (options: KVNamespaceListOptions) => inner.list(options),
    delete: (key: string) => inner.delete(key),
  };
  return kv as unknown as KVNamespace;
}

/** The real beacon (Durable Object) of `environment`, as the worker reaches it. */
export function realBeacon(environment: string): Beacon {
  const ns = testEnv.BEACON as DurableObjectNamespace;
  return ns.get(ns.idFromName(environment)) as unknown as Beacon;
}

/** Wraps a beacon, counting calls. */
export function countingBeacon(inner: Beacon) {
  const calls = { read: 0, snapshot: 0, announce: 0 };
  const beacon: Beacon = {
    read() {
      calls.read++;
      return inner.read();
    },
    snapshot(v) {
      calls.snapshot++;
      return inner.snapshot(v);
    },
    announce(e, v, j) {
      calls.announce++;
      return inner.announce(e, v, j);
    },
  };
  return { calls, beacon };
}

/** A beacon whose every call fails, as when the Durable Object is unreachable. */
export const brokenBeacon: Beacon = {
  read: () => Promise.reject(new Error("beacon unreachable")),
  snapshot: () => Promise.reject(new Error("beacon unreachable")),
  announce: () => Promise.reject(new Error("beacon unreachable")),
};
