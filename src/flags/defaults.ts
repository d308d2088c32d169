/**
 * The defaults of the flags file, in one place so the validator and the engine's compile apply the
 * same rules. Pure, no I/O.
 */
import type { GeoFacts } from "../eval/types";
import type { FlagDefinition, FlagType, JsonValue, Rule, Split, SplitEntry, SplitWeights } from "./types";

/** Variants of a flag that declares none: a boolean flag. */
const BOOLEAN_VARIANTS: Readonly<Record<string, JsonValue>> = Object.freeze({ on: true, off: false });

/** The attribute a split hashes when it names none: the targeting key. */
export const DEFAULT_SPLIT_BY = "key";

/** Off variant name used when a flag declares no `offVariant`. */
export const DEFAULT_OFF_VARIANT = "off";

/**
 * Longest pattern `matches` accepts, so a regex stays cheap to compile and to reason about. Both the
 * validator and compile refuse a longer one, so the worker refuses it in a snapshot too.
 */
export const MAX_PATTERN_LENGTH = 256;

/**
 * Longest name of a flag, variant or segment; NAME_PATTERN in schema.ts (and so the worker's shape
 * check) spells the same rule. A longer key names no flag, so the API answers it without evaluating.
 */
export const MAX_NAME_LENGTH = 128;

/** Time zone of schedule windows when the schedule names none. */
export const DEFAULT_TIMEZONE = "UTC";

/** Every field of GeoFacts; `geo.<field>` attributes must name one of these. */
export const GEO_FIELDS = [
  "country",
  "continent",
  "region",
  "regionCode",
  "city",
  "postalCode",
  "timezone",
  "asn",
  "isEU",
  "latitude",
  "longitude",
  "colo",
] as const satisfies readonly (keyof GeoFacts)[];

// Fails to compile if GeoFacts gains a field that GEO_FIELDS does not list.
type MissingGeoField = Exclude<keyof GeoFacts, (typeof GEO_FIELDS)[number]>;
const _allGeoFieldsListed: [MissingGeoField] extends [never] ? true : MissingGeoField = true;
void _allGeoFieldsListed;

/** The flag's variants; a flag without `variants` is boolean with `on: true` and `off: false`. */
export function variantsOf(flag: FlagDefinition): Record<string, JsonValue> {
  return flag.variants ?? (BOOLEAN_VARIANTS as Record<string, JsonValue>);
}

/** The variant served when the flag is disabled, out of schedule or a prerequisite fails. */
export function offVariantOf(flag: FlagDefinition): string {
  return flag.offVariant ?? DEFAULT_OFF_VARIANT;
}

/** The type of one variant value; objects, arrays and null are all `json`. */
export function valueTypeOf(value: JsonValue): FlagType {
  switch (typeof value) {
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "number":
      return "number";
    default:
      return "json";
  }
}

/**
 * The flag's type: the declared one if the variants agree with it, else the one all variants share.
 * Undefined when the variants are of mixed types or contradict the declared type (a validation error).
 */
export function flagTypeOf(flag: FlagDefinition): FlagType | undefined {
  let inferred: FlagType | undefined;
  for (const value of Object.values(variantsOf(flag))) {
    const t = valueTypeOf(value);
    if (inferred === undefined) inferred = t;
    else if (inferred !== t) return undefined;
  }
  if (flag.type !== undefined && inferred !== undefined && flag.type !== inferred) return undefined;
  return flag.type ?? inferred;
}

/** A rule's stable id: its own, else `rule-<index>` (0-based position in the flag's rules). */
export function ruleIdOf(rule: Rule, index: number): string {
  if (rule.id !== undefined) return rule.id;
  let id = DEFAULT_RULE_IDS[index];
  if (id === undefined) {
    id = `rule-${index}`;
    DEFAULT_RULE_IDS[index] = id;
  }
  return id;
}

/** `rule-<index>` strings already made: every flag's first rules share them instead of allocating. */
const DEFAULT_RULE_IDS: string[] = [];

/** The id a gate is known by: its own, or `gate-<index>` (as the gateway logs and reports it). */
export function gateIdOf(id: unknown, index: number): string {
  return typeof id === "string" ? id : `gate-${index}`;
}

/** The methods a gate covers: those listed, with HEAD wherever GET is; null for every method. */
export function gateMethodsOf(methods: readonly unknown[] | undefined): Set<string> | null {
  const set = new Set((methods ?? []).filter((m): m is string => typeof m === "string"));
  if (set.size === 0) return null;
  if (set.has("GET")) set.add("HEAD");
  return set;
}

/** Kill switch state: flags are enabled unless they say `enabled: false`. */
export function isEnabled(flag: FlagDefinition): boolean {
  return flag.enabled !== false;
}

/** Whether front-ends may see the flag: only when it says `clientVisible: true`. */
export function isClientVisible(flag: FlagDefinition): boolean {
  return flag.clientVisible === true;
}

/** The attribute a split hashes: its `by`, else the targeting key. */
export function splitByOf(split: Split): string {
  return split.by ?? DEFAULT_SPLIT_BY;
}

/** The hash salt of a split: its `salt`, else the flag key (flagd `fractional` compatible). */
export function splitSaltOf(split: Split, flagKey: string): string {
  return split.salt ?? flagKey;
}

/**
 * A split's weights in bucketing order: a list as given, a map in its key order. A map read back from
 * JSON keeps its written order unless a name looks like an integer, which the parser never leaves in
 * a map (src/flags/split-order.ts); an older snapshot's map is read in the order it was served in.
 */
export function splitEntries(weights: SplitWeights): readonly SplitEntry[] {
  if (Array.isArray(weights)) return weights;
  return Object.keys(weights).map((variant) => ({ variant, weight: weights[variant]! }));
}

/**
 * Outcome event names (POST /v1/events and a guard's `event`): letters, digits and `_ . : -`,
 * starting with a letter or digit, 1-64 characters. Names the worker records itself (origin health)
 * start with `@`, so no client can send them.
 */
export const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A guard's defaults: the error event, the latency percentile, samples per variant, the window. */
export const GUARD_DEFAULTS = { event: "error", percentile: 95, minSamples: 100, window: "10m" } as const;
/** Shortest and longest guard window, and the longest bake time, ms. */
export const GUARD_WINDOW_MS = { min: 60_000, max: 6 * 3_600_000 } as const;
export const GUARD_BAKE_MS = { min: 60_000, max: 7 * 24 * 3_600_000 } as const;

/** What is wrong with a guard duration out of its bounds. */
export const DURATION_PROBLEM = {
  window: 'a guard window must be from "1m" to "6h"',
  bake: 'a bake time must be from "1m" to "7d"',
} as const;

const DURATION_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "10m", "2h", "1d" in ms; undefined for anything else. */
export function durationMs(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^([1-9]\d{0,5})([smhd])$/.exec(text);
  return m ? Number(m[1]) * DURATION_UNIT_MS[m[2]!]! : undefined;
}

/** The variant a guard compares with: its `control`, else the flag's off variant. */
export function guardControlOf(flag: FlagDefinition): string {
  return flag.guard?.control ?? offVariantOf(flag);
}
