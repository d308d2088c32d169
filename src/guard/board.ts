/**
 * The aggregator's guard board for one environment: the guards of the armed snapshot version, their
 * samples per minute (in memory, fed by the same flushes as the counts, only rows of the armed
 * version), the verdicts, the trips and the health-gated progressive steps. What must survive a
 * restart is `state` (the aggregator persists it); samples are rebuilt by the next flushes.
 * No I/O and no clock of its own: `now` comes with each call.
 */

import { parseOriginEvent } from "../observe/origin";
import type { CountBatch } from "../observe/types";
import {
  type ArmedGuard,
  addSamples,
  emptySamples,
  judge,
  measure as measureOf,
  type Samples,
  type Verdict,
} from "./judge";
import type { GuardSignal, TripRecord } from "./types";

const MINUTE_MS = 60_000;
/** Trips kept for `edgeflags history` (newest last). */
export const HISTORY_LIMIT = 50;

/** A bake-gated flag's progress: steps released, for which steps, healthy since when. */
export interface BakeState {
  n: number;
  h: string;
  healthySince: number | null;
}

/** What the aggregator persists. */
export interface BoardState {
  environment: string;
  /** The armed snapshot version (0 before one is armed). */
  version: number;
  gen: number;
  trips: TripRecord[];
  bake: Record<string, BakeState>;
  /** Per flag, the `iat` of the last reset taken for this version (a reset is taken once). */
  resets: Record<string, number>;
  /** Recent trips of every version, for history (newest last). */
  history: (TripRecord & { version: number })[];
}

export function emptyState(environment: string): BoardState {
  return { environment, version: 0, gen: 0, trips: [], bake: {}, resets: {}, history: [] };
}

/** A verdict per guarded flag, as GET /v1/guards shows it. */
export interface GuardReport {
  flag: string;
  metric: string;
  state: "tripped" | "healthy" | "insufficient";
  windowSeconds: number;
  minSamples: number;
  variants: Record<string, { value: number; samples: number }>;
  bake?: { released: number; steps: number; healthySince: string | null; bakeSeconds: number };
}

export class GuardBoard {
  readonly state: BoardState;
  #guards = new Map<string, ArmedGuard>();
  /** flag -> minute -> variant -> samples */
  #windows = new Map<string, Map<number, Map<string, Samples>>>();
  #verdicts = new Map<string, Verdict>();

  constructor(state: BoardState) {
    this.state = state;
  }

  get version(): number {
    return this.state.version;
  }

  get guards(): ReadonlyMap<string, ArmedGuard> {
    return this.#guards;
  }

  /**
   * Arms the guards of `version`. The same version (after a restart) keeps its trips; a newer one
   * re-arms: trips and resets cleared, samples dropped, released steps kept for flags whose signed
   * steps did not change. Returns whether the published state changed.
   */
  arm(version: number, guards: readonly ArmedGuard[]): boolean {
    this.#guards = new Map(guards.map((g) => [g.flag, g]));
    if (version === this.state.version) return false;
    if (version < this.state.version) return false;
    const s = this.state;
    s.version = version;
    s.trips = [];
    s.resets = {};
    const bake: Record<string, BakeState> = {};
    for (const g of guards) {
      if (g.bakeMs === null || g.steps.length === 0) continue;
      const before = s.bake[g.flag];
      bake[g.flag] =
        before && before.h === g.fingerprint
          ? { ...before, healthySince: null }
          : { n: 0, h: g.fingerprint, healthySince: null };
    }
    s.bake = bake;
    this.#windows.clear();
    this.#verdicts.clear();
    s.gen++;
    return true;
  }

  /** Adds a flush's rows of guarded flags, when the flush served the armed version. */
  add(batch: CountBatch): void {
    if (this.#guards.size === 0 || batch.version !== this.state.version) return;
    // Filed by the window's end (a window lies within one minute): judged in the window it closed in.
    const minute = Math.floor(batch.to / MINUTE_MS) * MINUTE_MS;
    for (const r of batch.rows) {
      if (r.variant === "" || !this.#guards.has(r.flag) || !(r.count > 0)) continue;
      this.#samples(r.flag, minute, r.variant).served += r.count;
    }
    for (const r of batch.outcomes ?? []) {
      const g = this.#guards.get(r.flag);
      if (!g || r.variant === "" || !(r.count > 0)) continue;
      if (r.event === g.event) {
        this.#samples(r.flag, minute, r.variant).events += r.count;
        continue;
      }
      const o = parseOriginEvent(r.event);
      if (!o) continue;
      const s = this.#samples(r.flag, minute, r.variant);
      if ("cls" in o) {
        s.origin += r.count;
        if (o.cls === "5xx" || o.cls === "error") s.bad += r.count;
      } else {
        s.hist[o.bucket]! += r.count;
      }
    }
  }

  #samples(flag: string, minute: number, variant: string): Samples {
    let byMinute = this.#windows.get(flag);
    if (!byMinute) {
      byMinute = new Map();
      this.#windows.set(flag, byMinute);
    }
    let byVariant = byMinute.get(minute);
    if (!byVariant) {
      byVariant = new Map();
      byMinute.set(minute, byVariant);
    }
    let s = byVariant.get(variant);
    if (!s) {
      s = emptySamples();
      byVariant.set(variant, s);
    }
    return s;
  }

  /** A flag's samples per variant over its window ending at `now`; older minutes are dropped. */
  #window(g: ArmedGuard, now: number): Map<string, Samples> {
    const from = Math.floor((now - g.windowMs) / MINUTE_MS) * MINUTE_MS;
    const out = new Map<string, Samples>();
    const byMinute = this.#windows.get(g.flag);
    if (!byMinute) return out;
    for (const [minute, byVariant] of byMinute) {
      if (minute < from) {
        byMinute.delete(minute);
        continue;
      }
      for (const [variant, s] of byVariant) {
        let sum = out.get(variant);
        if (!sum) {
          sum = emptySamples();
          out.set(variant, sum);
        }
        addSamples(sum, s);
      }
    }
    return out;
  }

  /**
   * Judges every armed guard at `now`: new trips are recorded (and returned), healthy time is
   * tracked, and a bake-gated flag is released one step when its next step's signed time has come
   * and it has been healthy for its bake time. A tripped flag is held where it is.
   */
  evaluate(now: number): { changed: boolean; tripped: TripRecord[] } {
    const s = this.state;
    const tripped: TripRecord[] = [];
    let changed = false;
    for (const g of this.#guards.values()) {
      const verdict = judge(g, this.#window(g, now));
      this.#verdicts.set(g.flag, verdict);
      const isTripped = s.trips.some((t) => t.flag === g.flag);
      const bake = s.bake[g.flag];
      if (isTripped) continue;
      if (verdict.state === "tripped") {
        const trip: TripRecord = { ...verdict.trip, at: new Date(now).toISOString() };
        s.trips.push(trip);
        s.history.push({ ...trip, version: s.version });
        if (s.history.length > HISTORY_LIMIT) s.history.splice(0, s.history.length - HISTORY_LIMIT);
        tripped.push(trip);
        if (bake) bake.healthySince = null;
        changed = true;
        continue;
      }
      if (!bake || g.bakeMs === null) continue;
      if (verdict.state !== "healthy") {
        bake.healthySince = null;
        continue;
      }
      bake.healthySince ??= now;
      const next = g.steps[bake.n];
      if (next !== undefined && next <= now && now - bake.healthySince >= g.bakeMs) {
        bake.n++;
        // The next step bakes afresh.
        bake.healthySince = null;
        changed = true;
      }
    }
    if (changed) s.gen++;
    return { changed, tripped };
  }

  /**
   * Re-arms a tripped (or healthy) guard of the armed version: its trip is cleared and its samples
   * dropped, so it judges only what is served from now on. `iat` must be newer than the last reset
   * taken for the flag (a reset is used once). Returns whether it was taken.
   */
  reset(flag: string, iat: number): boolean {
    const s = this.state;
    if (!this.#guards.has(flag)) return false;
    if ((s.resets[flag] ?? Number.NEGATIVE_INFINITY) >= iat) return false;
    s.resets[flag] = iat;
    s.trips = s.trips.filter((t) => t.flag !== flag);
    this.#windows.delete(flag);
    this.#verdicts.delete(flag);
    const bake = s.bake[flag];
    if (bake) bake.healthySince = null;
    s.gen++;
    return true;
  }

  /** The state isolates get through the beacon. */
  signal(): GuardSignal {
    const s = this.state;
    const released: GuardSignal["released"] = {};
    for (const [flag, b] of Object.entries(s.bake)) released[flag] = { n: b.n, h: b.h };
    return { environment: s.environment, version: s.version, gen: s.gen, trips: s.trips, released };
  }

  /** Each armed guard's latest verdict and window values (GET /v1/guards). */
  report(now: number): GuardReport[] {
    const out: GuardReport[] = [];
    for (const g of this.#guards.values()) {
      const window = this.#window(g, now);
      const verdict = this.#verdicts.get(g.flag) ?? judge(g, window);
      const variants: GuardReport["variants"] = {};
      for (const [variant, samples] of window) {
        const { value, samples: n } = measureOf(g, samples);
        variants[variant] = { value, samples: n };
      }
      const tripped = this.state.trips.some((t) => t.flag === g.flag);
      const bake = this.state.bake[g.flag];
      out.push({
        flag: g.flag,
        metric: g.metric,
        state: tripped ? "tripped" : verdict.state === "tripped" ? "healthy" : verdict.state,
        windowSeconds: g.windowMs / 1000,
        minSamples: g.minSamples,
        variants,
        ...(bake && g.bakeMs !== null
          ? {
              bake: {
                released: bake.n,
                steps: g.steps.length,
                healthySince: bake.healthySince === null ? null : new Date(bake.healthySince).toISOString(),
                bakeSeconds: g.bakeMs / 1000,
              },
            }
          : {}),
      });
    }
    return out.sort((a, b) => (a.flag < b.flag ? -1 : a.flag > b.flag ? 1 : 0));
  }
}
