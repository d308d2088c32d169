/**
 * Coalescing through the location's cache (the Cache API): the first isolate in a location to find
 * an entry missing or older than its TTL asks the beacon and stores the answer; the others read it.
 * Failures are cached too, so an unavailable beacon is not asked by every isolate. Freshness is judged
 * by the injected clock as well as by Cache-Control, so tests with a fake clock stay honest.
 * I/O: the injected cache.
 */

/** The part of a Cache API cache this needs; `caches.default` satisfies it by shape. */
export interface LocationCache {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
}

interface Entry<T> {
  at: number;
  value?: T;
  error?: { code: string; message: string };
}

/** A signal failure with a stable code: a timeout, or one read from the location's cache. */
export class SignalFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * How long a location reuses one answer of the beacon: half the check interval, so the worst case
 * from announcement to check is 1.5 intervals (3 s at the default 2 s) at 2 beacon reads per
 * interval per location (docs/propagation.md has the arithmetic).
 */
export function stateTtlMs(intervalMs: number): number {
  return intervalMs / 2;
}

/** Cache keys, per environment. The host is never resolved: it only names the entries. */
export const signalKeys = {
  state: (env: string) => `https://edgeflags-signal.invalid/${encodeURIComponent(env)}/state`,
  snapshot: (env: string, version: number) =>
    `https://edgeflags-signal.invalid/${encodeURIComponent(env)}/v/${version}`,
  /** "Location L reported serving version N": one report per location and version per period. */
  report: (env: string, location: string, version: number) =>
    `https://edgeflags-signal.invalid/${encodeURIComponent(env)}/at/${encodeURIComponent(location)}/${version}`,
};

async function readEntry<T>(cache: LocationCache, key: string): Promise<Entry<T> | undefined> {
  try {
    const hit = await cache.match(key);
    return hit ? ((await hit.json()) as Entry<T>) : undefined;
  } catch {
    return undefined; // a broken cache must never stop the check: ask the beacon instead
  }
}

/** Stores `entry` for `ttlMs`. Cache errors are ignored (coalescing is an optimisation). */
export async function storeEntry<T>(
  cache: LocationCache | undefined,
  key: string,
  ttlMs: number,
  entry: Entry<T>,
): Promise<void> {
  if (!cache) return;
  const maxAge = Math.max(1, Math.ceil(ttlMs / 1000));
  try {
    await cache.put(
      key,
      new Response(JSON.stringify(entry), {
        headers: { "content-type": "application/json", "cache-control": `max-age=${maxAge}` },
      }),
    );
  } catch {
    // e.g. no cache on workers.dev: every isolate then asks the beacon itself
  }
}

/**
 * `load()`'s value, from this location's cache when another isolate stored it less than `ttlMs` ago
 * (and `accept`, when given, takes the cached value). Throws `SignalFailure` when the cached (or
 * fresh) attempt failed. With `later` (a request's waitUntil), the answer is returned as soon as it is
 * known and the cache write goes to `later`, off the caller's path (a cold load waits for this read).
 */
export async function coalesced<T>(
  cache: LocationCache | undefined,
  key: string,
  ttlMs: number,
  now: () => number,
  load: () => Promise<T>,
  accept?: (cached: T) => boolean,
  later?: (p: Promise<unknown>) => void,
): Promise<{ value: T; from: "cache" | "origin" }> {
  const store = (entry: Entry<T>) => {
    const p = storeEntry(cache, key, ttlMs, entry);
    return later ? later(p) : p;
  };
  const hit = cache ? await readEntry<T>(cache, key) : undefined;
  if (hit && now() - hit.at < ttlMs && now() >= hit.at && (!accept || hit.error || accept(hit.value as T))) {
    if (hit.error) throw new SignalFailure(hit.error.code, `${hit.error.message} (cached)`);
    return { value: hit.value as T, from: "cache" };
  }
  try {
    const value = await load();
    await store({ at: now(), value });
    return { value, from: "origin" };
  } catch (err) {
    const code = err instanceof SignalFailure ? err.code : "ERR_SIGNAL_UNAVAILABLE";
    const message = err instanceof Error ? err.message : String(err);
    await store({ at: now(), error: { code, message } });
    throw new SignalFailure(code, message);
  }
}
