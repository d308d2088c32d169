/**
 * The version signal's vocabulary: what the beacon says and what an isolate can ask it. Types only,
 * no I/O.
 */
import type { GuardSignal } from "../guard/types";

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
  /**
   * The aggregator's guard state (unsigned; src/guard/apply.ts decides what an isolate honours of
   * it). Rides on the reads the signal makes anyway: a trip reaches every location within a check.
   */
  guards?: GuardSignal;
}

/**
 * The beacon as the worker sees it. A Durable Object stub satisfies it by shape (JS RPC); tests use
 * doubles that fail or lag.
 */
export interface Beacon {
  /**
   * The newest announced version, or null when nothing was announced yet. `report` rides along: the
   * version the reading isolate's location serves (no extra call).
   */
  read(report?: LocationReport): Promise<BeaconState | null>;
  /** That version's JWS if the beacon holds it (unverified bytes: the caller verifies them). */
  snapshot(version: number): Promise<string | null>;
  /**
   * Raises the announced version. Lower or equal versions change nothing (the beacon only moves up),
   * and the state after the call is returned.
   */
  announce(environment: string, version: number, jws: string | null): Promise<BeaconState>;
  /** Records the version a location serves (when it changed and no read carried it). */
  report?(report: LocationReport): Promise<void>;
  /** The locations that reported within `activeWithinMs`, for `--confirm all` and status. */
  locations?(activeWithinMs: number): Promise<LocationsView>;
  /** Takes the aggregator's guard state (newer generations only); the state after the call. */
  setGuards?(signal: GuardSignal): Promise<GuardSignal | null>;
}

/** What an isolate tells the beacon: where it is and which version it serves since when. */
export interface LocationReport {
  /** `request.cf.colo`, or SIGNAL_LOCATION when set (locally "LCL"). */
  location: string;
  version: number;
  /** Epoch ms at which this isolate began serving `version`. */
  since: number;
  /** The guard signal generation this isolate applies (absent before it read one). */
  guards?: number;
}

/** One row of the beacon's location table. */
export interface LocationEntry {
  location: string;
  version: number;
  /** ISO 8601: when the reporting isolate began serving `version`. */
  servedSince: string;
  /** ISO 8601: the latest report. */
  reportedAt: string;
  /** From the announcement to `servedSince`, when `version` is the announced one; else null. */
  lagMs: number | null;
  /** The guard signal generation the location applies, when it said. */
  guards?: number;
}

/** The location table as the beacon answers it. */
export interface LocationsView {
  environment: string | null;
  /** The announced version, null before the first announcement. */
  version: number | null;
  announcedAt: string | null;
  activeWithinSeconds: number;
  locations: LocationEntry[];
  /** Calls the beacon answered since it started, by kind (diagnostics and the cost test). */
  calls: Record<"read" | "report" | "snapshot" | "announce" | "locations", number>;
  /** The guard state the beacon holds (trips, released steps), if any. */
  guards?: GuardSignal | null;
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
  /** The location this isolate reports to the beacon (cf.colo or SIGNAL_LOCATION), once known. */
  location?: string | null;
  lastCheck: SignalCheck | null;
  /** The last time the signal, not KV, brought a newer version. */
  lastUpdate: { version: number; at: string } | null;
}
