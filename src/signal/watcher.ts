/**
 * The per-isolate side of the version signal. Piggybacks on requests: when a check is due (every
 * interval, with jitter) it runs one in `waitUntil`, never in front of the response. A check reads the
 * announced version (coalesced per location), hands it to the store as the version floor, and when it
 * is newer than what this isolate serves, fetches that version strongly consistently - the JWS the
 * beacon holds, which a KV writer cannot touch, else KV's versioned key, which no location has cached
 * before the publish - and hands it to the store, which verifies it exactly like a KV read and
 * refuses anything below the floor. The same reads serve a cold store's floor (`FloorSource`).
 * Each check also keeps the beacon's location table current (proof of live everywhere): a beacon read
 * carries this location's served version for free, and a separate report is sent only when the
 * version changed or the location was silent for `reportEveryMs`, once per location (coalesced).
 * I/O only through the injected beacon, cache and snapshot source.
 */

import type { GuardSignal } from "../guard/types";
import { kvKeys } from "../snapshot/format";
import type { Floor, SnapshotSource, SnapshotStore } from "../snapshot/store";
import { coalesced, type LocationCache, SignalFailure, signalKeys, stateTtlMs, storeEntry } from "./coalesce";
import type { Beacon, BeaconState, LocationReport, SignalCheck, SignalStatus } from "./types";

export interface WatcherOptions {
  beacon: Beacon;
  /** This location's cache (`caches.default`); undefined: every isolate asks the beacon. */
  cache?: LocationCache;
  /** Where versioned snapshots are read (the KV binding, or the same wrapper the store reads). */
  source: SnapshotSource;
  store: SnapshotStore;
  environment: string;
  /** Time between checks, ms (jittered down to 75%); a location reuses one answer for half of it. */
  intervalMs: number;
  /** A version whose fetch or verification failed is not tried again sooner than this, ms. */
  retryMs: number;
  /** Longest a beacon or KV call may take before the check counts as failed, ms. */
  timeoutMs?: number;
  now?: () => number;
  /** Uniform [0, 1), for jitter. */
  random?: () => number;
  log?: (event: Record<string, unknown>) => void;
  /** A fixed location name (SIGNAL_LOCATION); else the `request.cf.colo` requests bring (`locate`). */
  location?: string;
  /** Longest a location stays silent in the beacon's table while active, ms (default 30 s). */
  reportEveryMs?: number;
  /** Hands on the guard state every beacon answer carries (the guard view, src/guard/view.ts). */
  onGuards?: (signal: GuardSignal | undefined) => void;
  /** The guard generation this isolate applies, reported with its version. */
  guardsGen?: () => number | null;
}

/** Default of `reportEveryMs`: well inside the publisher's shortest useful activity window. */
export const REPORT_EVERY_MS = 30_000;

/** Jitter spreads checks over [75%, 100%] of the interval, so the worst case stays one interval. */
const JITTER = 0.25;
/** The beacon's JWS for a version never changes: a location may keep it this long. */
const SNAPSHOT_TTL_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SignalFailure("ERR_SIGNAL_TIMEOUT", `${what} took over ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Watches the beacon for one isolate. */
export class SignalWatcher {
  #nextAt = 0;
  #inflight: Promise<void> | undefined;
  #lastCheck: SignalCheck | null = null;
  #lastUpdate: SignalStatus["lastUpdate"] = null;
  #failed: { version: number; at: number; error: { code: string; message: string } } | undefined;
  /** The last check `reach` forced past the location's cache, and the version the beacon said. */
  #forced: { at: number; seen: number | null } | undefined;
  readonly #now: () => number;
  readonly #random: () => number;
  #location: string | undefined;
  /** The version this isolate serves and since when (epoch ms), from the store's change hook. */
  #serving: { version: number; since: number } | undefined;
  /** The last report this isolate knows reached the beacon for its location. */
  #reported: { version: number; at: number } | undefined;

  constructor(readonly options: WatcherOptions) {
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#location = options.location;
  }

  /** Where this isolate runs, from a request's `cf.colo` (ignored when SIGNAL_LOCATION is set). */
  locate(colo: unknown): void {
    if (this.options.location === undefined && typeof colo === "string" && colo !== "") this.#location = colo;
  }

  /** The store began serving `version` (its `onChange`): the next check reports it. */
  served(version: number): void {
    this.#serving = { version, since: this.#now() };
  }

  /**
   * Reports this location's served version now (unless this location already did), for an isolate
   * that began serving a version it did not learn through a check: the intake's own publish. Without
   * it, the publishing location would only report on its next check, which needs a request to come.
   */
  reportServing(): Promise<void> {
    return this.#maybeReport(this.options.timeoutMs ?? 5000);
  }

  /** What this isolate would tell the beacon now, if it knows where it is and serves something. */
  #report(): LocationReport | undefined {
    const version = this.options.store.peek()?.payload.version;
    if (this.#location === undefined || version === undefined) return undefined;
    const since = this.#serving?.version === version ? this.#serving.since : this.#now();
    this.#serving ??= { version, since };
    const guards = this.options.guardsGen?.() ?? null;
    return guards === null
      ? { location: this.#location, version, since }
      : { location: this.#location, version, since, guards };
  }

  /**
   * Reports this location's version unless a read just carried it, or this location (any isolate of
   * it) reported it within `reportEveryMs`. Never throws: the table is diagnostics, not serving.
   */
  async #maybeReport(timeoutMs: number): Promise<void> {
    const { beacon, cache, environment } = this.options;
    const report = this.#report();
    if (!report || !beacon.report) return;
    const every = this.options.reportEveryMs ?? REPORT_EVERY_MS;
    const last = this.#reported;
    if (last && last.version === report.version && this.#now() - last.at < every) return;
    try {
      await coalesced(
        cache,
        signalKeys.report(environment, report.location, report.version),
        every,
        this.#now,
        () => withTimeout(beacon.report?.(report) ?? Promise.resolve(), timeoutMs, "reporting to the beacon"),
      );
      this.#reported = { version: report.version, at: this.#now() };
    } catch {
      // A failed report is cached for the period like a success: the location shows as silent.
    }
  }

  /** Starts a background check if one is due. Cheap enough for every request. */
  poke(waitUntil: (p: Promise<unknown>) => void): void {
    const now = this.#now();
    if (this.#inflight || now < this.#nextAt) return;
    this.#nextAt = now + this.options.intervalMs * (1 - JITTER * this.#random());
    waitUntil(this.check());
  }

  status(): SignalStatus {
    return {
      enabled: true,
      intervalSeconds: this.options.intervalMs / 1000,
      location: this.#location ?? null,
      lastCheck: this.#lastCheck,
      lastUpdate: this.#lastUpdate,
    };
  }

  /**
   * One check now (single flight). Never throws: the outcome goes to `status()` and the log. With
   * `minVersion`, a location's cached answer older than that is not trusted: the beacon is asked.
   */
  check(minVersion?: number): Promise<void> {
    this.#inflight ??= this.#check(minVersion)
      .then(() => this.#maybeReport(this.options.timeoutMs ?? 5000))
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  /**
   * Whether this isolate may answer a client that was told of `version` (an event stream's
   * notification, passed back as `flagConfigEtag`): true once it serves that version or newer, or
   * when the beacon itself says nothing that new was announced (what is served is the newest; the
   * client's version is not ours). Asks the beacon past the location's cache at most once per half
   * interval per isolate, so made-up versions cost no more than the signal does. Never throws.
   */
  async reach(version: number, timeoutMs: number): Promise<boolean> {
    const serving = () => (this.options.store.peek()?.payload.version ?? 0) >= version;
    if (serving()) return true;
    const asked = this.#now();
    const deadline = asked + timeoutMs;
    const ttl = stateTtlMs(this.options.intervalMs);
    const within = (p: Promise<unknown>) =>
      withTimeout(p, Math.max(1, deadline - this.#now()), "reaching the announced version").catch(() => {});
    while (this.#now() < deadline) {
      if (this.#inflight) await within(this.#inflight);
      if (serving()) return true;
      const forced = this.#forced;
      // A beacon read begun after this request arrived, saying less than `version`: the client's
      // version was never announced (a stream only tells of versions its isolate serves).
      if (forced && forced.at >= asked && forced.seen !== null && forced.seen < version) return true;
      const wait = forced ? forced.at + ttl - this.#now() : 0;
      if (wait > 0) {
        await within(new Promise((resolve) => setTimeout(resolve, wait)));
        continue;
      }
      this.#forced = { at: this.#now(), seen: null };
      await within(this.check(version));
      if (serving()) return true;
      if (this.#forced.seen === null) return false; // the beacon could not be read
    }
    return serving();
  }

  async #check(minVersion?: number): Promise<void> {
    const started = this.#now();
    const { store } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 5000;
    let seen: BeaconState | null = null;
    let via: SignalCheck["via"] = null;
    const done = (result: SignalCheck["result"], extra: Partial<SignalCheck> = {}) => {
      this.#lastCheck = {
        at: new Date(started).toISOString(),
        result,
        seenVersion: seen?.version ?? null,
        via,
        ms: this.#now() - started,
        ...extra,
      };
      if (result === "error" || result === "rejected") {
        this.options.log?.({
          event: "signal_check_failed",
          result,
          ...this.#lastCheck.error,
          seenVersion: seen?.version ?? null,
        });
      }
    };
    try {
      try {
        const read = await this.#read(timeoutMs, minVersion);
        seen = read.value;
        via = read.from === "cache" ? "cache" : "beacon";
        if (minVersion !== undefined && this.#forced) this.#forced.seen = seen?.version ?? 0;
      } catch (err) {
        store.floorUnavailable(err);
        throw err;
      }
      store.learnFloor(seen && floorOf(seen));
      const serving = store.peek()?.payload.version ?? 0;
      if (!seen || seen.version <= serving) return done("unchanged");

      const failed = this.#failed;
      if (failed && failed.version === seen.version && started - failed.at < this.options.retryMs) {
        return done("error", { error: failed.error });
      }
      const fetched = await this.#fetch(seen.version, seen.hasSnapshot, timeoutMs);
      // Verified against the floor just learned: an older snapshot under this version is a rollback.
      const outcome = await store.offer(fetched.jws, `signal:${fetched.from}`);
      if (!outcome.ok) {
        const error = { code: outcome.failure.code, message: outcome.failure.message };
        this.#failed = { version: seen.version, at: started, error };
        return done("rejected", { fetchedFrom: fetched.from, error });
      }
      this.#failed = undefined;
      if (outcome.changed)
        this.#lastUpdate = { version: outcome.version, at: new Date(this.#now()).toISOString() };
      done(outcome.changed ? "updated" : "unchanged", { fetchedFrom: fetched.from });
    } catch (err) {
      const code = err instanceof SignalFailure ? err.code : "ERR_SIGNAL_UNAVAILABLE";
      const error = { code, message: err instanceof Error ? err.message : String(err) };
      if (seen && code !== "ERR_SIGNAL_UNAVAILABLE")
        this.#failed = { version: seen.version, at: started, error };
      done("error", { error });
    }
  }

  /**
   * `FloorSource.read` for a cold store: the same coalesced read as a check, with its own timeout.
   * The location cache's writes go to `later` when given: the cold load waits only for the answer.
   */
  async readFloor(timeoutMs: number, later?: (p: Promise<unknown>) => void): Promise<Floor | null> {
    const { value } = await this.#read(timeoutMs, undefined, later);
    return value && floorOf(value);
  }

  /** `FloorSource.fetch`: the floor version's JWS, as a check fetches an announced version. */
  fetchFloor(floor: Floor): Promise<{ jws: string; from: "kv" | "beacon" }> {
    return this.#fetch(floor.version, floor.held, this.options.timeoutMs ?? 5000);
  }

  /**
   * The announced version, from this location's cache when another isolate read it recently (and,
   * with `minVersion`, it is at least that).
   */
  async #read(timeoutMs: number, minVersion?: number, later?: (p: Promise<unknown>) => void) {
    const { cache, environment, intervalMs, beacon } = this.options;
    const report = this.#report();
    const read = await coalesced(
      cache,
      signalKeys.state(environment),
      stateTtlMs(intervalMs),
      this.#now,
      () => withTimeout(report ? beacon.read(report) : beacon.read(), timeoutMs, "reading the beacon"),
      minVersion === undefined ? undefined : (state) => (state?.version ?? 0) >= minVersion,
      later,
    );
    this.options.onGuards?.(read.value?.guards);
    if (report && read.from === "origin") {
      // The read carried the report: the rest of the location need not send it.
      const every = this.options.reportEveryMs ?? REPORT_EVERY_MS;
      this.#reported = { version: report.version, at: this.#now() };
      const stored = storeEntry(
        cache,
        signalKeys.report(environment, report.location, report.version),
        every,
        {
          at: this.#now(),
          value: null,
        },
      );
      await (later ? later(stored) : stored);
    }
    return read;
  }

  /**
   * The announced version's JWS: the beacon's own copy first (a KV writer cannot replace it), then
   * KV's versioned key (snapshots too big for the beacon, or its copy unreadable).
   */
  async #fetch(
    version: number,
    held: boolean,
    timeoutMs: number,
  ): Promise<{ jws: string; from: "kv" | "beacon" }> {
    const { source, environment, cache, beacon } = this.options;
    let beaconProblem = "the beacon does not hold it";
    if (held) {
      try {
        const { value } = await coalesced(
          cache,
          signalKeys.snapshot(environment, version),
          SNAPSHOT_TTL_MS,
          this.#now,
          () => withTimeout(beacon.snapshot(version), timeoutMs, "reading the beacon's snapshot"),
        );
        if (value !== null) return { jws: value, from: "beacon" };
        beaconProblem = "the beacon has moved past it";
      } catch (err) {
        beaconProblem = `the beacon failed: ${(err as Error).message}`;
      }
    }
    let kvProblem = "it is not in KV yet";
    try {
      const jws = await withTimeout(
        source.get(kvKeys.version(environment, version), { type: "text" }),
        timeoutMs,
        "reading KV",
      );
      if (jws !== null) return { jws, from: "kv" };
    } catch (err) {
      kvProblem = `KV failed: ${(err as Error).message}`;
    }
    throw new SignalFailure(
      "ERR_SIGNAL_SNAPSHOT_MISSING",
      `version ${version} is announced but ${beaconProblem} and ${kvProblem}`,
    );
  }
}

/** The beacon's state as the store's version floor. */
function floorOf(state: BeaconState): Floor {
  const announcedAt = Date.parse(state.updatedAt);
  return {
    version: state.version,
    // An unreadable instant counts as long ago: an older snapshot in KV is then never excused as lag.
    announcedAt: Number.isNaN(announcedAt) ? 0 : announcedAt,
    held: state.hasSnapshot,
    ...(typeof state.digest === "string" ? { digest: state.digest } : {}),
  };
}
