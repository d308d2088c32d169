/**
 * What the console says about one flag at a glance: its state (enabled, killed, scheduled), expiry
 * badge, rollout share and guard, from its definition in the signed snapshot. Pure, no I/O, no clock:
 * `now` is passed in.
 */
import { scheduleActive } from "../eval/schedule";
import type { FlagDefinition, ProgressiveSplit, SplitWeights } from "../flags/types";
import type { VerifiedSnapshot } from "../snapshot/verify";

const DAY_MS = 86_400_000;
/** An `expires` date this close (or closer) reads "expiring soon". */
export const EXPIRING_SOON_DAYS = 14;

export type FlagState = "enabled" | "killed" | "scheduled (active)" | "scheduled (inactive)";

/** `killed` when the kill switch is off; `scheduled` with whether the schedule is active at `now`. */
export function flagState(snapshot: VerifiedSnapshot, key: string, now: number): FlagState {
  const flag = snapshot.payload.flags.flags[key];
  if (flag?.enabled === false) return "killed";
  const schedule = snapshot.compiled.byKey.get(key)?.schedule;
  if (!schedule) return "enabled";
  return scheduleActive(schedule, now) ? "scheduled (active)" : "scheduled (inactive)";
}

export type ExpiryBadge = { kind: "expired" | "soon"; text: string } | undefined;

/**
 * The expiry badge of an `expires` date (YYYY-MM-DD): expired from the next midnight UTC on, as lint
 * counts it (src/publisher/refs/report.ts `isExpired`: the date is the last day the flag may live),
 * and "expiring soon" within EXPIRING_SOON_DAYS before that.
 */
export function expiryBadge(expires: string | undefined, now: number): ExpiryBadge {
  if (!expires) return undefined;
  const ms = Date.parse(`${expires}T00:00:00Z`);
  if (Number.isNaN(ms)) return undefined;
  const end = ms + DAY_MS;
  if (end <= now) return { kind: "expired", text: `expired ${expires}` };
  if (end - now <= EXPIRING_SOON_DAYS * DAY_MS) return { kind: "soon", text: `expires ${expires}` };
  return undefined;
}

/** A split's [variant, weight] pairs in bucketing order, whichever way it was written. */
export function splitPairs(weights: SplitWeights): [string, number][] {
  return Array.isArray(weights) ? weights.map((e) => [e.variant, e.weight]) : Object.entries(weights);
}

/** One variant's share of a split, in percent. */
export interface Share {
  variant: string;
  percent: number;
}

export interface Rollout {
  /** The fallthrough's shares now: one variant at 100% when it serves a variant. */
  shares: Share[];
  /** For a progressive rollout: the step in force (0: the initial split) and how many there are. */
  step?: { current: number; total: number; next?: string };
  /** Whether a rule splits traffic too (its shares are on the flag page). */
  ruleSplits: boolean;
}

/** Percentages of weights, rounded to at most two decimals. */
function shares(weights: SplitWeights): Share[] {
  const pairs = splitPairs(weights);
  const total = pairs.reduce((sum, [, w]) => sum + w, 0) || 1;
  return pairs.map(([variant, w]) => ({ variant, percent: Math.round((w / total) * 10_000) / 100 }));
}

/** The fallthrough's current shares (the last progressive step reached at `now`). */
export function rollout(flag: FlagDefinition, now: number): Rollout {
  const ruleSplits = (flag.rules ?? []).some((r) => typeof r.serve !== "string");
  const f = flag.fallthrough;
  if (typeof f === "string") return { shares: [{ variant: f, percent: 100 }], ruleSplits };
  const steps = (f as ProgressiveSplit).steps ?? [];
  if (steps.length === 0) return { shares: shares(f.split), ruleSplits };
  const times = steps.map((s) => Date.parse(s.at));
  let current = 0;
  for (let i = 0; i < steps.length; i++) if ((times[i] as number) <= now) current = i + 1;
  const weights = current === 0 ? f.split : (steps[current - 1]?.split ?? f.split);
  const next = steps[current]?.at;
  return {
    shares: shares(weights),
    step: { current, total: steps.length, ...(next ? { next } : {}) },
    ruleSplits,
  };
}

/** "on 25% · off 75%", with the progressive step when there is one. */
export function rolloutText(r: Rollout): string {
  const text = r.shares.map((s) => `${s.variant} ${s.percent}%`).join(" · ");
  return r.step ? `${text} (step ${r.step.current}/${r.step.total})` : text;
}

/**
 * A flag's guard, if it declares one. Guards are a newer field than this console: it is read through
 * this one accessor, as an unknown value, so the console needs no change when its shape settles.
 */
export function guardOf(flag: FlagDefinition): unknown {
  return (flag as { guard?: unknown }).guard;
}

/** The aggregator's verdict on a guard of the live version (GET /v1/guards' `state`). */
export type GuardVerdict = "tripped" | "healthy" | "insufficient";

/**
 * One short word or phrase for the guard column: "-" when the flag has none, else the aggregator's
 * verdict for the live version, or "declared" when it has none (no aggregator, or not armed yet).
 */
export function guardText(flag: FlagDefinition, verdict?: GuardVerdict): string {
  const guard = guardOf(flag);
  if (guard === undefined || guard === null) return "-";
  if (verdict === "insufficient") return "too few samples";
  return verdict ?? "declared";
}

/**
 * What the flag serves now in one line: its off variant when killed or out of schedule, else its
 * rollout share.
 */
export function servingText(flag: FlagDefinition, state: FlagState, now: number): string {
  if (state === "killed" || state === "scheduled (inactive)") {
    return `${flag.offVariant ?? "off"} 100% (${state === "killed" ? "killed" : "out of schedule"})`;
  }
  return rolloutText(rollout(flag, now));
}
