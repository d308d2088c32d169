/**
 * The version signal's vocabulary: what the beacon says and what an isolate can ask it. Types only,
 * no I/O.
 */

/** What the beacon knows: the newest announced version, not the snapshot itself. */
export interface BeaconState {
  environment: string;
  version: number;
  /** Whether the beacon also holds that version's JWS (only when it is small enough). */
  hasSnapshot: boolean;
  /**
   * SHA-256 (base64url) of that version's JWS: which bytes were announced, even when the beacon does
   * not hold them. Absent in announcements made before it was recorded.
   */
  digest?: string;
  /** ISO 8601 instant of the announcement. */
  updatedAt: string;
}

/**
 * The beacon as the worker sees it. A Durable Object stub satisfies it by shape (JS RPC); tests use
 * doubles that fail or lag.
 */
export interface Beacon {
  /** The newest announced version, or null when nothing was announced yet. */
  read(): Promise<BeaconState | null>;
  /** That version's JWS if the beacon holds it (unverified bytes: the caller verifies them). */
  snapshot(version: number): Promise<string | null>;
  /**
   * Raises the announced version. Lower or equal versions change nothing (the beacon only moves up),
   * and the state after the call is returned.
   */
  announce(environment: string, version: number, jws: string | null): Promise<BeaconState>;
}

/** Outcome of one background check, as /healthz shows it. */
export interface SignalCheck {
  at: string;
  /**
   * `unchanged`: nothing newer than what this isolate serves; `updated`: a newer snapshot was fetched,
   * verified and now serves; `rejected`: the fetched snapshot failed verification (see `error.code`,
   * the same codes a KV read gets); `error`: the signal or the snapshot could not be read.
   */
  result: "unchanged" | "updated" | "rejected" | "error";
  /** Version the beacon announced (null when it could not be read or announced nothing). */
  seenVersion: number | null;
  /** Where the announcement came from: this location's cache or the beacon itself. */
  via: "cache" | "beacon" | null;
  /** Where a newer snapshot was fetched from, when one was. */
  fetchedFrom?: "kv" | "beacon";
  ms: number;
  error?: { code: string; message: string };
}

export interface SignalStatus {
  enabled: boolean;
  /** Why it is off, when it is. */
  reason?: string;
  intervalSeconds: number;
  lastCheck: SignalCheck | null;
  /** The last time the signal, not KV, brought a newer version. */
  lastUpdate: { version: number; at: string } | null;
}
