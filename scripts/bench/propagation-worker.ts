/**
 * The worker as the propagation benchmark runs it: the real app, with KV reads seen through a model
 * of one location's KV cache (a key's first read is kept for 60 s, as KV's edge cache does), and
 * counters of the signal's background work at GET /__bench/stats; the LOCATION binding names the
 * cache it shares with other isolates of its "location". I/O: KV, the beacon, the cache.
 */
import { createApp } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import type { LocationCache } from "../../src/signal/coalesce";
import type { Beacon } from "../../src/signal/types";
import type { SnapshotSource } from "../../src/snapshot/store";

export { VersionBeacon } from "../../src/signal/beacon";

/** How long this "location" keeps what it read from KV (KV's default edge-cache TTL). */
const KV_LAG_MS = 60_000;

const stats = { beaconReads: 0, beaconSnapshots: 0, cacheReads: 0, kvReads: 0, kvVersionReads: 0 };
const seen = new Map<string, { value: string | null; at: number }>();

function laggingSource(env: Env): SnapshotSource {
  return {
    async get(key, options) {
      const hit = seen.get(key);
      if (hit && Date.now() - hit.at < KV_LAG_MS) return hit.value;
      stats.kvReads++;
      if (key.includes("/v/")) stats.kvVersionReads++;
      const value = await env.FLAGS.get(key, options);
      seen.set(key, { value, at: Date.now() });
      return value;
    },
  };
}

function countingBeacon(env: Env): Beacon | undefined {
  const ns = env.BEACON;
  if (!ns) return undefined;
  const stub = () => ns.get(ns.idFromName(env.EDGEFLAGS_ENV ?? "development")) as unknown as Beacon;
  return {
    read: () => {
      stats.beaconReads++;
      return stub().read();
    },
    snapshot: (v) => {
      stats.beaconSnapshots++;
      return stub().snapshot(v);
    },
    announce: (e, v, j) => stub().announce(e, v, j),
  };
}

/** Which "location" this isolate is in: isolates given the same LOCATION share one cache. */
let location = "default";
const cache: LocationCache = {
  match: async (key) => {
    stats.cacheReads++;
    return (await caches.open(location)).match(key);
  },
  put: async (key, res) => (await caches.open(location)).put(key, res),
};

const app = createApp({ source: laggingSource, beacon: countingBeacon, cache, log: () => {} });

export default {
  fetch(request: Request, env: Env & { LOCATION?: string }, ctx: ExecutionContext) {
    location = env.LOCATION ?? "default";
    if (new URL(request.url).pathname === "/__bench/stats") return Response.json(stats);
    return app.fetch(request, env, ctx);
  },
};
