/**
 * Origin health in gateway mode as outcome rows the worker records itself: for a gated request that
 * reached the origin, one `@origin:<class>` event (2xx, 3xx, 4xx, 5xx, or `error` for a failed fetch)
 * and one `@origin:ms:<bound>` latency bucket, attributed to the gate flag's served variant. They ride
 * the outcome table, flush and sinks unchanged; the `@` keeps them out of reach of POST /v1/events,
 * whose names must start with a letter or digit. Pure, no I/O.
 */

/** Upper bounds (ms, inclusive) of the latency histogram; one more bucket holds everything slower. */
export const LATENCY_BOUNDS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

export const ORIGIN_PREFIX = "@origin:";
export const ORIGIN_CLASSES = ["2xx", "3xx", "4xx", "5xx", "error"] as const;
export type OriginClass = (typeof ORIGIN_CLASSES)[number];

const CLASS_NAMES = ORIGIN_CLASSES.map((c) => `${ORIGIN_PREFIX}${c}`);
const BUCKET_NAMES = [...LATENCY_BOUNDS_MS.map((b) => `${ORIGIN_PREFIX}ms:${b}`), `${ORIGIN_PREFIX}ms:inf`];

/** The class event of an origin answer (`status` 0: the fetch failed). Statuses below 200 count as 2xx. */
export function originClassEvent(status: number): string {
  if (status === 0) return CLASS_NAMES[4]!;
  const i = status >= 500 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0;
  return CLASS_NAMES[i]!;
}

/** The latency bucket event of `ms`. */
export function latencyEvent(ms: number): string {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return BUCKET_NAMES[i]!;
  return BUCKET_NAMES[LATENCY_BOUNDS_MS.length]!;
}

/** An origin event name read back: its class, or its latency bucket index; undefined for others. */
export function parseOriginEvent(name: string): { cls: OriginClass } | { bucket: number } | undefined {
  if (!name.startsWith(ORIGIN_PREFIX)) return undefined;
  const c = CLASS_NAMES.indexOf(name);
  if (c >= 0) return { cls: ORIGIN_CLASSES[c]! };
  const b = BUCKET_NAMES.indexOf(name);
  return b >= 0 ? { bucket: b } : undefined;
}

/**
 * The `p`-th percentile (0-100) of a histogram (counts per bucket, LATENCY_BOUNDS_MS order plus the
 * overflow): the upper bound of the bucket holding it, the overflow counting as twice the last bound.
 * 0 for an empty histogram.
 */
export function percentileOf(hist: readonly number[], p: number): number {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return 0;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return LATENCY_BOUNDS_MS[i] ?? 2 * LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
  }
  return 2 * LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
