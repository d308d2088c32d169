/**
 * The compiled form of a flags document: what evaluation walks. Everything a lookup needs is resolved
 * here (objects, not names; Sets, not arrays; epoch ms, not strings). Pure types, no I/O.
 */
import type { FlagType, JsonValue } from "../flags/types";
import type { HashPrefix } from "./murmur";
import type { CompiledTest } from "./operators";
import type { CompiledSchedule } from "./schedule";
import type { EvaluationResult } from "./types";

/** One weight table: cumulative sums, their total, and the pre-built result for each entry. */
export interface Weights {
  /** Cumulative weights in hash space (see hashBounds): the served entry is the first above the hash. */
  readonly bounds: readonly number[];
  readonly results: readonly EvaluationResult[];
}

/** A split carries its salt's hash state inline (HashPrefix): one object less to load per flag. */
export interface CompiledSplit extends HashPrefix {
  /** Hashes the targeting key (the default), whose UTF-8 form is cached per evaluation context. */
  readonly byKey: boolean;
  readonly src: number;
  readonly name: string;
  readonly guarded: boolean;
  readonly base: Weights;
  /** Progressive steps by ascending `at` (epoch ms); the last one reached replaces `base`. */
  readonly steps: readonly { readonly at: number; readonly weights: Weights }[];
  /** The result when the bucket attribute is missing. */
  readonly missing: EvaluationResult;
}

/** What a rule or the fallthrough serves: a fixed result, or a split. Exactly one is non-null. */
export interface CompiledServe {
  readonly result: EvaluationResult | null;
  readonly split: CompiledSplit | null;
}

export interface CompiledSegment {
  readonly name: string;
  /** Index of the membership in the per-context memo (shared with test outcomes). */
  readonly memo: number;
  /** null when empty: saves a hash lookup per evaluation. */
  readonly included: ReadonlySet<string> | null;
  readonly excluded: ReadonlySet<string> | null;
  /** Any rule (an AND of tests) matching makes a member. */
  readonly rules: readonly (readonly CompiledTest[])[];
}

/** One condition of a rule: an attribute test or segment membership (op OP_SEGMENT). */
export type CompiledCondition = CompiledTest;

/** A rule with what it serves inline. */
export interface CompiledRule extends CompiledServe {
  readonly conditions: readonly CompiledCondition[];
}

export interface GeoMatcher {
  readonly countries: ReadonlySet<string>;
  readonly continents: ReadonlySet<string>;
  /** country -> region codes, so a region test needs no string concatenation. */
  readonly regions: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface CompiledGeo {
  readonly allow: GeoMatcher | null;
  readonly block: GeoMatcher | null;
  readonly result: EvaluationResult;
}

export interface CompiledPrerequisite {
  readonly flag: CompiledFlag;
  readonly variants: ReadonlySet<string>;
  readonly failed: EvaluationResult;
}

/** The targeting keys served one variant. Identical key sets are one shared Set across the snapshot. */
export interface CompiledTargets {
  readonly keys: ReadonlySet<string>;
  readonly result: EvaluationResult;
}

export interface CompiledFlag {
  readonly key: string;
  /** Position in key order; indexes per-evaluation memo arrays. */
  readonly index: number;
  readonly type: FlagType;
  readonly clientVisible: boolean;
  /** Whether any of steps 2-5 applies (kill switch, schedule, prerequisites, geo, targets). */
  readonly gated: boolean;
  /** Non-null when the kill switch is off: the whole answer. */
  readonly disabled: EvaluationResult | null;
  readonly schedule: CompiledSchedule | null;
  readonly scheduleOff: EvaluationResult | null;
  readonly prerequisites: readonly CompiledPrerequisite[] | null;
  readonly geo: CompiledGeo | null;
  /** Per variant in the order written (a key listed twice gets the first), non-empty sets only. */
  readonly targets: readonly CompiledTargets[] | null;
  readonly rules: readonly CompiledRule[];
  /** The fallthrough, inline: exactly one of the two is non-null. */
  readonly fallthroughResult: EvaluationResult | null;
  readonly fallthroughSplit: CompiledSplit | null;
  readonly variants: Readonly<Record<string, JsonValue>>;
}
