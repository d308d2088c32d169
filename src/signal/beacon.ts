/**
 * The version beacon: one Durable Object per environment holding the newest published version (and
 * its JWS when small), strongly consistent because a single object owns it. It trusts nobody: only
 * the worker reaches it, after verifying, and every isolate verifies whatever it hands out again.
 * It also keeps, in memory only, which version each location reported serving (proof of live
 * everywhere, docs/propagation.md): reports cost no storage write, and a restarted object refills
 * the table within one check interval. It also holds the aggregator's guard state (trips, released
 * progressive steps), handed out with every read: unsigned, and honoured by isolates only to move a
 * guarded flag back (src/guard/apply.ts). I/O: Durable Object storage.
 */
import { DurableObject } from "cloudflare:workers";
import type { GuardSignal } from "../guard/types";
import { digestText } from "../policy/digest";
import type { Beacon, BeaconState, LocationEntry, LocationReport, LocationsView } from "./types";

/**
 * Largest JWS the beacon keeps (128 KiB: the smallest value limit across Durable Object storage
 * backends). Bigger snapshots are announced by version only; isolates then fetch them from KV.
 */
export const BEACON_MAX_SNAPSHOT_BYTES = 128 * 1024;

interface Stored {
  environment: string;
  version: number;
  jws: string | null;
  /** SHA-256 (base64url) of the announced JWS, kept even when the JWS is too big to keep. */
  digest?: string;
  updatedAt: string;
}

const KEY = "state";
const GUARDS_KEY = "guards";

/** Most locations the table holds (Cloudflare has ~330); past it the longest silent one goes. */
export const MAX_LOCATIONS = 1024;
/** Longest activity window a caller may ask for; older rows are dropped. */
export const MAX_ACTIVE_WITHIN_MS = 3_600_000;
/** Longest location name kept (colos are three letters; configured names are short). */
const MAX_LOCATION_LENGTH = 64;

interface Row {
  version: number;
  since: number;
  reportedAt: number;
  guards?: number;
}

function view(s: Stored, guards?: GuardSignal | null): BeaconState {
  return {
    environment: s.environment,
    version: s.version,
    hasSnapshot: s.jws !== null,
    ...(s.digest ? { digest: s.digest } : {}),
    updatedAt: s.updatedAt,
    ...(guards && guards.environment === s.environment ? { guards } : {}),
  };
}

/** The Durable Object class bound as BEACON (see wrangler.toml); its methods are called over JS RPC. */
export class VersionBeacon extends DurableObject implements Beacon {
  // Kept in memory between calls: the object is the only writer, so the copy cannot go stale.
  #state: Stored | null | undefined;
  #guards: GuardSignal | null | undefined;
  readonly #locations = new Map<string, Row>();
  readonly #calls: LocationsView["calls"] = { read: 0, report: 0, snapshot: 0, announce: 0, locations: 0 };

  async #load(): Promise<Stored | null> {
    if (this.#state === undefined) this.#state = (await this.ctx.storage.get<Stored>(KEY)) ?? null;
    if (this.#guards === undefined)
      this.#guards = (await this.ctx.storage.get<GuardSignal>(GUARDS_KEY)) ?? null;
    return this.#state;
  }

  async read(report?: LocationReport): Promise<BeaconState | null> {
    this.#calls.read++;
    if (report) this.#record(report);
    const s = await this.#load();
    return s ? view(s, this.#guards) : null;
  }

  /**
   * The aggregator's guard state for the environment: kept when its generation is newer than the one
   * held. Its content is not judged here: isolates decide what they honour against signed snapshots.
   */
  async setGuards(signal: GuardSignal): Promise<GuardSignal | null> {
    await this.#load();
    const held = this.#guards;
    if (
      signal &&
      typeof signal.environment === "string" &&
      Number.isSafeInteger(signal.gen) &&
      Number.isSafeInteger(signal.version) &&
      (!held || held.environment !== signal.environment || signal.gen > held.gen)
    ) {
      await this.ctx.storage.put(GUARDS_KEY, signal);
      this.#guards = signal;
    }
    return this.#guards ?? null;
  }

  async snapshot(version: number): Promise<string | null> {
    this.#calls.snapshot++;
    const s = await this.#load();
    return s && s.version === version ? s.jws : null;
  }

  async announce(environment: string, version: number, jws: string | null): Promise<BeaconState> {
    this.#calls.announce++;
    const s = await this.#load();
    if (s && version <= s.version) return view(s, this.#guards);
    const next: Stored = {
      environment,
      version,
      jws: jws !== null && jws.length <= BEACON_MAX_SNAPSHOT_BYTES ? jws : null,
      ...(jws !== null ? { digest: await digestText(jws) } : {}),
      updatedAt: new Date().toISOString(),
    };
    await this.ctx.storage.put(KEY, next);
    this.#state = next;
    return view(next, this.#guards);
  }

  async report(report: LocationReport): Promise<void> {
    this.#calls.report++;
    this.#record(report);
  }

  async locations(activeWithinMs: number): Promise<LocationsView> {
    this.#calls.locations++;
    const s = await this.#load();
    const now = Date.now();
    this.#prune(now);
    const within = Math.min(Math.max(0, activeWithinMs), MAX_ACTIVE_WITHIN_MS);
    const announcedAt = s ? Date.parse(s.updatedAt) : Number.NaN;
    const locations: LocationEntry[] = [];
    for (const [location, row] of this.#locations) {
      if (now - row.reportedAt > within) continue;
      locations.push({
        location,
        version: row.version,
        servedSince: new Date(row.since).toISOString(),
        reportedAt: new Date(row.reportedAt).toISOString(),
        lagMs:
          s && row.version === s.version && !Number.isNaN(announcedAt)
            ? Math.max(0, row.since - announcedAt)
            : null,
        ...(row.guards !== undefined ? { guards: row.guards } : {}),
      });
    }
    locations.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
    return {
      environment: s?.environment ?? null,
      version: s?.version ?? null,
      announcedAt: s?.updatedAt ?? null,
      activeWithinSeconds: Math.round(within / 1000),
      locations,
      calls: { ...this.#calls },
      guards: this.#guards ?? null,
    };
  }

  /**
   * One location's latest report wins (an isolate still on an older version shows until it catches
   * up); the same version keeps the earliest `since`, so the lag is when the location first served it.
   */
  #record(r: LocationReport): void {
    if (typeof r.location !== "string" || r.location === "" || r.location.length > MAX_LOCATION_LENGTH)
      return;
    if (!Number.isSafeInteger(r.version) || !Number.isFinite(r.since)) return;
    const now = Date.now();
    const row = this.#locations.get(r.location);
    const since = Math.min(r.since, now);
    const guards = Number.isSafeInteger(r.guards) ? r.guards : undefined;
    if (row && row.version === r.version) {
      row.since = Math.min(row.since, since);
      row.reportedAt = now;
      if (guards !== undefined) row.guards = guards;
      return;
    }
    if (!row && this.#locations.size >= MAX_LOCATIONS) this.#prune(now, true);
    this.#locations.set(r.location, { version: r.version, since, reportedAt: now, guards });
  }

  /** Drops rows older than the longest window; with `room`, also the longest silent row. */
  #prune(now: number, room = false): void {
    let oldest: [string, number] | undefined;
    for (const [location, row] of this.#locations) {
      if (now - row.reportedAt > MAX_ACTIVE_WITHIN_MS) this.#locations.delete(location);
      else if (!oldest || row.reportedAt < oldest[1]) oldest = [location, row.reportedAt];
    }
    if (room && oldest && this.#locations.size >= MAX_LOCATIONS) this.#locations.delete(oldest[0]);
  }
}
