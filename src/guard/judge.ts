/**
 * Judging a guard: a flag's guard as the aggregator applies it (defaults resolved), the samples of
 * one variant in a window, and the verdict - tripped (which variant, by how much), healthy (every
 * variant with enough samples is within its limit, and at least one was judged) or not enough samples.
 * Pure: plain data in, no clock, no I/O.
 */
import { durationMs, GUARD_DEFAULTS, guardControlOf, offVariantOf } from "../flags/defaults";
import type { FlagDefinition, GuardMetric } from "../flags/types";
import { LATENCY_BOUNDS_MS, percentileOf } from "../observe/origin";
import type { TripRecord } from "./types";

/** A flag's guard with its defaults applied, and its progressive steps (epoch ms, ascending). */
export interface ArmedGuard {
  flag: string;
  metric: GuardMetric;
  event: string;
  percentile: number;
  relative: { ratio: number; margin: number } | null;
  threshold: number | null;
  control: string;
  off: string;
  minSamples: number;
  windowMs: number;
  bakeMs: number | null;
  steps: number[];
  /** The signed fallthrough's fingerprint (src/guard/apply.ts `stepsFingerprint`). */
  fingerprint: string;
}

/** What a window holds for one variant. */
export interface Samples {
  /** Evaluations that served it. */
  served: number;
  /** Outcome events named the guard's event. */
  events: number;
  /** Origin answers by class, and the latency histogram (LATENCY_BOUNDS_MS plus overflow). */
  origin: number;
  bad: number;
  hist: number[];
}

export function emptySamples(): Samples {
  return { served: 0, events: 0, origin: 0, bad: 0, hist: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
}

/** Adds `b` into `a`. */
export function addSamples(a: Samples, b: Samples): void {
  a.served += b.served;
  a.events += b.events;
  a.origin += b.origin;
  a.bad += b.bad;
  for (let i = 0; i < a.hist.length; i++) a.hist[i]! += b.hist[i] ?? 0;
}

/** The guard of `flag`, armed: undefined when the flag declares none. */
export function armGuard(
  key: string,
  flag: FlagDefinition,
  steps: number[],
  fingerprint: string,
): ArmedGuard | undefined {
  const g = flag.guard;
  if (!g) return undefined;
  return {
    flag: key,
    metric: g.metric,
    event: g.event ?? GUARD_DEFAULTS.event,
    percentile: g.percentile ?? GUARD_DEFAULTS.percentile,
    relative: g.relative ? { ratio: g.relative.ratio, margin: g.relative.margin ?? 0 } : null,
    threshold: g.threshold ?? null,
    control: guardControlOf(flag),
    off: offVariantOf(flag),
    minSamples: g.minSamples ?? GUARD_DEFAULTS.minSamples,
    windowMs: durationMs(g.window ?? GUARD_DEFAULTS.window) ?? 600_000,
    bakeMs: g.bake === undefined ? null : (durationMs(g.bake) ?? null),
    steps,
    fingerprint,
  };
}

/** A variant's metric value and how many samples it rests on. */
export function measure(g: ArmedGuard, s: Samples): { value: number; samples: number } {
  switch (g.metric) {
    case "error-rate":
      return { value: s.served > 0 ? s.events / s.served : 0, samples: s.served };
    case "origin-5xx":
      return { value: s.origin > 0 ? s.bad / s.origin : 0, samples: s.origin };
    case "origin-latency": {
      // Failed fetches have no latency; every answer that came has one.
      let n = 0;
      for (const c of s.hist) n += c;
      return { value: percentileOf(s.hist, g.percentile), samples: n };
    }
  }
}

export type Verdict =
  | { state: "tripped"; trip: Omit<TripRecord, "at" | "locations"> }
  | { state: "healthy"; judged: number }
  | { state: "insufficient" };

/**
 * The verdict on a window's samples per variant. The control is never judged itself; relative
 * comparisons need the control to have `minSamples` too. The first variant past its limit trips.
 */
export function judge(g: ArmedGuard, byVariant: ReadonlyMap<string, Samples>): Verdict {
  const c = measure(g, byVariant.get(g.control) ?? emptySamples());
  let judged = 0;
  for (const [variant, s] of byVariant) {
    if (variant === g.control) continue;
    const m = measure(g, s);
    if (m.samples < g.minSamples) continue;
    let limit: number;
    if (g.relative) {
      if (c.samples < g.minSamples) continue;
      limit = Math.max(c.value * g.relative.ratio, c.value + g.relative.margin);
    } else {
      limit = g.threshold ?? Number.POSITIVE_INFINITY;
    }
    judged++;
    if (m.value > limit) {
      return {
        state: "tripped",
        trip: {
          flag: g.flag,
          variant,
          metric: g.metric,
          value: round(m.value),
          control: g.relative ? round(c.value) : null,
          limit: round(limit),
          samples: m.samples,
          controlSamples: c.samples,
        },
      };
    }
  }
  return judged > 0 ? { state: "healthy", judged } : { state: "insufficient" };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
