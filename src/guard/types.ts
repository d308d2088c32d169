/**
 * The guard state the aggregator publishes through the version beacon, and what an isolate shows of
 * it. Unsigned by design: an isolate honours it only to move a guarded flag back (src/guard/apply.ts).
 * Types only, no I/O.
 */
import type { GuardMetric } from "../flags/types";
import type { GuardReport } from "./board";
import type { ResetProblem } from "./reset";

/** One tripped guard: which variant hurt, by how much, on how many samples, when. */
export interface TripRecord {
  flag: string;
  /** The variant whose metric crossed the line (informational: a trip always serves the off variant). */
  variant: string;
  metric: GuardMetric;
  /** The variant's value in the window (a rate as a fraction, or latency in ms). */
  value: number;
  /** The control's value (relative guards), else null. */
  control: number | null;
  /** The line it crossed: max(control x ratio, control + margin), or the threshold. */
  limit: number;
  samples: number;
  controlSamples: number;
  /** ISO 8601. */
  at: string;
  /** Locations active (reporting to the beacon) when the trip was recorded. */
  locations?: number;
}

/** A flag's health-gated progressive steps: how many may serve, for which signed step list. */
export interface Released {
  /** Steps the aggregator lets serve (0: hold at the base split). */
  n: number;
  /** Fingerprint of the flag's signed fallthrough (stepsFingerprint): a count for other steps is void. */
  h: string;
}

/** What the aggregator publishes through the beacon for one environment. */
export interface GuardSignal {
  environment: string;
  /** The snapshot version whose guards were judged: trips of another version are not honoured. */
  version: number;
  /** Rises with every change, so isolates rebuild their view once per change. */
  gen: number;
  trips: TripRecord[];
  /** Per guarded flag with `bake`: steps released (valid across versions while the steps are the same). */
  released: Record<string, Released>;
}

/** What /healthz shows of the guard state this isolate applies. */
export interface GuardStatus {
  /** The signal's generation and version, null before one was read. */
  gen: number | null;
  version: number | null;
  /** Trips honoured for the served snapshot. */
  trips: TripRecord[];
  /** Progressive flags held back by their bake: steps served / steps signed. */
  held: Record<string, { served: number; signed: number }>;
  /** Trips in the signal that were not honoured, and why. */
  ignored: { flag: string; why: string }[];
}

/** What GET /v1/guards answers: the board of the environment. */
export interface GuardsAnswer {
  environment: string;
  /** The armed snapshot version (0: none yet). */
  version: number;
  gen: number;
  trips: TripRecord[];
  history: (TripRecord & { version: number })[];
  guards: GuardReport[];
  webhook: { configured: boolean; pending: number; lastError: string | null; delivered: number };
}

/** Why a guard reset was refused (src/guard/reset.ts), or that nothing is armed or it was used. */
export type ResetRefusal = ResetProblem | "unarmed" | "used";
