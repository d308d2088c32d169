/**
 * Whether a snapshot's expiry leaves the worker time to pick up the next one: an expiry shorter than
 * the worker's refresh cadence can run out before a re-signed snapshot reaches every isolate, which
 * then serves nothing (503 no_snapshot; in gateway mode GATEWAY_NO_SNAPSHOT applies). Pure, no I/O.
 */

/** The worker settings that decide how long a new snapshot takes to reach an isolate through KV. */
export interface RefreshCadence {
  /** REFRESH_INTERVAL_SECONDS: how often an isolate re-reads KV. */
  refreshSeconds: number;
  /** KV_CACHE_TTL_SECONDS: how long a location keeps a KV read. */
  kvCacheTtlSeconds: number;
  /** How long KV takes to show a write in other locations (Cloudflare documents up to 60 s). */
  kvPropagationSeconds: number;
}

/** The worker's defaults (README "Configuration") and KV's documented propagation. */
export const DEFAULT_CADENCE: RefreshCadence = {
  refreshSeconds: 10,
  kvCacheTtlSeconds: 30,
  kvPropagationSeconds: 60,
};

/**
 * Worst case from a publish to every isolate serving it through KV alone, in ms. The version signal
 * usually takes seconds, but expiry must hold when the beacon is down too.
 */
export function refreshCadenceMs(cadence: Partial<RefreshCadence> = {}): number {
  const c = { ...DEFAULT_CADENCE, ...cadence };
  return (c.refreshSeconds + c.kvCacheTtlSeconds + c.kvPropagationSeconds) * 1000;
}

/** A warning for `publish --expires-in`, or undefined when the expiry is longer than the cadence. */
export function expiryWarning(
  expiresInMs: number,
  cadence: Partial<RefreshCadence> = {},
): string | undefined {
  const c = { ...DEFAULT_CADENCE, ...cadence };
  const cadenceMs = refreshCadenceMs(c);
  if (expiresInMs > cadenceMs) return undefined;
  return (
    `the snapshot expires in ${seconds(expiresInMs)}, within the worker's refresh cadence ` +
    `(${seconds(cadenceMs)}: KV propagation ${c.kvPropagationSeconds} s + KV_CACHE_TTL_SECONDS ` +
    `${c.kvCacheTtlSeconds} + REFRESH_INTERVAL_SECONDS ${c.refreshSeconds}); isolates may serve ` +
    `nothing before they see the next snapshot. Use a longer --expires-in and re-sign well before it ` +
    `runs out (README "Keeping a snapshot fresh")`
  );
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
