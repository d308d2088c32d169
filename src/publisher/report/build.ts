/**
 * The stale report's data: each flag's findings (expired, past its kind's lifetime, serving one
 * variant long enough to remove, not evaluated, not referenced), grouped by owner, with counts per
 * category. Pure, no I/O, no clock: the flags, references, history, evaluation counts and `now` are
 * passed in.
 */
import type { FlagDefinition } from "../../flags/types";
import { KIND_POLICIES } from "../kind-policies";
import { ageInDays, staleAge } from "../lint";
import type { CodeLocation } from "../refs/report";
import { isExpired } from "../refs/report";
import type { HistoryRecord } from "../targets/target";
import type { EvaluationCounts } from "./evaluations";
import { type ServingSince, servingOf, servingSince } from "./serving";

const DAY_MS = 86_400_000;

/** Every category, in the order the report lists them; names are stable for --json consumers. */
export const CATEGORIES = [
  "expired",
  "past-lifetime",
  "ready-to-remove",
  "not-evaluated",
  "unreferenced",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** One reason a flag is in the report: its category, a sentence for people, and the facts behind it. */
export type Finding =
  | { category: "expired"; reason: string; expires: string; daysAgo: number }
  | { category: "past-lifetime"; reason: string; created: string; ageDays: number; lifetimeDays: number }
  | {
      category: "ready-to-remove";
      reason: string;
      variant: string;
      state: "off" | "rolled-out";
      /** YYYY-MM-DD it has served this way since (at least, with `atLeast`), or null when unknown. */
      since: string | null;
      atLeast?: true;
      days: number | null;
    }
  | { category: "not-evaluated"; reason: string; lastEvaluated: string | null }
  | { category: "unreferenced"; reason: string };

export interface FlagEntry {
  key: string;
  owner: string | null;
  kind: string | null;
  created: string | null;
  ageDays: number | null;
  findings: Finding[];
  /** Where the code names the flag; null when the references are unknown (not in --refs). */
  references: CodeLocation[] | null;
}

export type HistoryInput =
  /** `complete`: fewer records than asked for, so this is the whole history. */
  | { read: true; where: string; records: readonly HistoryRecord[]; complete: boolean }
  | { read: false; why: string };

export interface ReportInput {
  file: string;
  /** The flags file's flags, in its order. */
  flags: Readonly<Record<string, FlagDefinition>>;
  /** Flag key -> its references; a flag missing here has unknown references. */
  references: ReadonlyMap<string, CodeLocation[]>;
  history: HistoryInput;
  evaluations: EvaluationCounts;
}

export interface ReportSettings {
  now: number;
  /** N of "fully rolled out or off for N days" and "not evaluated for N days". */
  days: number;
  /** Days after `created` a flag of a kind that ages out is past its lifetime (lint.staleAfterDays). */
  staleAfterDays: number;
}

export interface StaleReport {
  file: string;
  /** YYYY-MM-DD of `now`. */
  date: string;
  days: number;
  staleAfterDays: number;
  history: { read: true; where: string; records: number } | { read: false; why: string };
  evaluations: { known: boolean; note?: string; where?: string; countingSince?: string | null };
  /** Flags in the file. */
  total: number;
  /** Flags per category; null when the report cannot tell (no evaluation counts). */
  summary: Record<Category, number | null>;
  /** Owners in name order, flags without an owner last; only flags with findings. */
  owners: { owner: string | null; flags: FlagEntry[] }[];
}

export const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const daysBetween = (from: number, to: number) => Math.floor((to - from) / DAY_MS);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** A flag that serves one variant to everyone: a finding when it has for `days` or nobody can tell. */
function readyFinding(
  key: string,
  flag: FlagDefinition,
  input: ReportInput,
  settings: ReportSettings,
): Finding | undefined {
  // Ops and permission flags are long-lived by design: a kill switch left on is its steady state.
  if (flag.kind && !KIND_POLICIES[flag.kind].agesOut) return undefined;
  const serving = servingOf(flag, settings.now);
  if (!serving.single) return undefined;
  const what =
    serving.state === "off"
      ? flag.enabled === false
        ? `is disabled: serves "${serving.variant}" to everyone (fully off)`
        : `serves its off variant "${serving.variant}" to everyone (fully off)`
      : `serves "${serving.variant}" to everyone (fully rolled out)`;
  const base = { category: "ready-to-remove" as const, variant: serving.variant, state: serving.state };
  const history: ServingSince =
    input.history.read === true
      ? servingSince(input.history.records, key, input.history.complete)
      : { known: false, why: input.history.why };
  if (!history.known) {
    return { ...base, reason: `${what}, unknown since: ${history.why}`, since: null, days: null };
  }
  let at = Date.parse(history.at);
  let atLeast = history.atLeast === true;
  // A progressive split that reached 100% after its last publish: the step's time is when.
  const stepAt = serving.from === undefined ? Number.NaN : Date.parse(serving.from);
  if (stepAt > at) {
    at = stepAt;
    atLeast = false;
  }
  const days = daysBetween(at, settings.now);
  if (days < settings.days) return undefined;
  const since = dateOf(at);
  return {
    ...base,
    reason: `${what} since ${atLeast ? "at least " : ""}${since} (${plural(days, "day")})`,
    since,
    ...(atLeast ? { atLeast: true as const } : {}),
    days,
  };
}

function notEvaluatedFinding(key: string, input: ReportInput, settings: ReportSettings): Finding | undefined {
  const counts = input.evaluations;
  if (!counts.known) return undefined;
  const last = counts.lastEvaluated.get(key) ?? null;
  if (last === null) {
    // Never seen: news only once counting has run for the report's N days.
    const since = counts.countingSince === null ? Number.NaN : Date.parse(counts.countingSince);
    const counted = daysBetween(since, settings.now);
    if (!(counted >= settings.days)) return undefined;
    return {
      category: "not-evaluated",
      reason: `never evaluated since counting began on ${dateOf(since)} (${plural(counted, "day")})`,
      lastEvaluated: null,
    };
  }
  const days = daysBetween(Date.parse(last), settings.now);
  if (days < settings.days) return undefined;
  return {
    category: "not-evaluated",
    reason: `last evaluated ${dateOf(Date.parse(last))} (${plural(days, "day")} ago)`,
    lastEvaluated: last,
  };
}

/** Every finding of one flag, in category order. */
function findingsOf(
  key: string,
  flag: FlagDefinition,
  input: ReportInput,
  settings: ReportSettings,
): Finding[] {
  const { now } = settings;
  const found: (Finding | undefined)[] = [];
  if (flag.expires && isExpired(flag.expires, now)) {
    const daysAgo = daysBetween(Date.parse(`${flag.expires}T00:00:00Z`), now);
    found.push({
      category: "expired",
      reason: `expired on ${flag.expires} (${plural(daysAgo, "day")} ago)`,
      expires: flag.expires,
      daysAgo,
    });
  }
  const stale = staleAge(flag, now, settings.staleAfterDays);
  if (stale !== undefined && flag.created) {
    found.push({
      category: "past-lifetime",
      reason: `${flag.kind} flag created ${flag.created}, ${stale} days ago: more than the ${settings.staleAfterDays} days a flag of its kind should live`,
      created: flag.created,
      ageDays: stale,
      lifetimeDays: settings.staleAfterDays,
    });
  }
  found.push(readyFinding(key, flag, input, settings));
  found.push(notEvaluatedFinding(key, input, settings));
  if (input.references.get(key)?.length === 0) {
    found.push({ category: "unreferenced", reason: "no reference in the scanned code" });
  }
  return found.filter((f): f is Finding => f !== undefined);
}

/** The report of `input` as of `settings.now`. */
export function buildReport(input: ReportInput, settings: ReportSettings): StaleReport {
  const summary = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number | null>;
  if (!input.evaluations.known) summary["not-evaluated"] = null;
  const byOwner = new Map<string | null, FlagEntry[]>();
  for (const [key, flag] of Object.entries(input.flags)) {
    const findings = findingsOf(key, flag, input, settings);
    if (findings.length === 0) continue;
    for (const f of findings) summary[f.category] = (summary[f.category] ?? 0) + 1;
    const owner = flag.owner ?? null;
    const list = byOwner.get(owner) ?? [];
    byOwner.set(owner, list);
    list.push({
      key,
      owner,
      kind: flag.kind ?? null,
      created: flag.created ?? null,
      ageDays: ageInDays(flag.created, settings.now) ?? null,
      findings,
      references: input.references.get(key) ?? null,
    });
  }
  const owners = [...byOwner.keys()]
    .sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map((owner) => ({ owner, flags: byOwner.get(owner) ?? [] }));
  return {
    file: input.file,
    date: dateOf(settings.now),
    days: settings.days,
    staleAfterDays: settings.staleAfterDays,
    history: input.history.read
      ? { read: true, where: input.history.where, records: input.history.records.length }
      : { read: false, why: input.history.why },
    evaluations: input.evaluations.known
      ? {
          known: true,
          countingSince: input.evaluations.countingSince,
          ...(input.evaluations.where === undefined ? {} : { where: input.evaluations.where }),
        }
      : { known: false, note: input.evaluations.note },
    total: Object.keys(input.flags).length,
    summary,
    owners,
  };
}
