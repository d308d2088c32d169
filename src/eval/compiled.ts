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

/**
 * A flag's rule conditions as one flat list of ints (`code`), walked without touching an object per
 * condition: per rule, its condition count, then each condition as `memo << 1 | negate` (memo: the
 * outcome memo entry of a test or segment; negate: segment non-membership). Rule i matches when all
 * its conditions hold. Flags whose rules test the same things in the same order (copied targeting)
 * share one program, and `id` indexes the per-context memo of which rule matched: walked once.
 */
export interface RuleProgram {
  /** Its matched-rule memo entry, or -1 when only one flag has these conditions (nothing to share). */
  readonly id: number;
  /** Its rules' conditions; with a tail, only the rules before it. */
  readonly code: Int32Array;
  /**
   * Its last rules, when other programs end with the same rules: a shared program (with a memo entry),
   * so that flags whose first rules differ walk their common later rules once per context.
   */
  readonly tail: RuleProgram | null;
  /** How many rules come before the tail (the tail's rule i is this program's rule tailRule + i). */
  readonly tailRule: number;
}

/** What a rule serves; its conditions are in the flag's RuleProgram. */
export type CompiledRule = CompiledServe;

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

/**
 * A target list, interned: every flag listing the same keys (in any order) shares this one object and
 * its outcome memo entry, a `key in <list>` test whose keys are in the value index (ValueIndex).
 */
export interface TargetKeys {
  readonly memo: number;
  /** Distinct keys. */
  readonly size: number;
}

/** The targeting keys served one variant. */
export interface CompiledTargets {
  readonly keys: TargetKeys;
  /** keys.memo, inline: one object less to load per flag. */
  readonly memo: number;
  readonly result: EvaluationResult;
}

/**
 * Every `in` / `not_in` / `equals` / `not_equals` test and target list of a snapshot, inverted per
 * attribute slot: value -> the memo entries of the tests listing it. An entry is a memo index (the
 * value is in one test), the complement (~i) of an index into `lists` (sorted memo indexes, for a
 * value in several), or absent. A context then looks its value up once per attribute, not once per
 * test: with a list per flag (an allow list, a country list), each flag only searches a short array.
 */
export interface ValueIndex {
  /** By attribute slot; null for slots no such test reads. */
  readonly bySlot: readonly (ReadonlyMap<unknown, number> | null)[];
  readonly lists: readonly Int32Array[];
  /** By attribute slot: the memo entries of every in / not_in test and target list reading it. */
  readonly testsBySlot: readonly (Int32Array | null)[];
  /** By memo entry: 1 for a not_in test, else 0 (so stamping a slot reads bytes, not deciders). */
  readonly notIn: Uint8Array;
}

export interface CompiledFlag {
  readonly key: string;
  /** Position in key order; indexes per-evaluation memo arrays. */
  readonly index: number;
  readonly type: FlagType;
  readonly clientVisible: boolean;
  /** Whether any of steps 2-4 applies (kill switch, schedule, prerequisites, geo). */
  readonly gated: boolean;
  /** Non-null when the kill switch is off: the whole answer. */
  readonly disabled: EvaluationResult | null;
  readonly schedule: CompiledSchedule | null;
  readonly scheduleOff: EvaluationResult | null;
  readonly prerequisites: readonly CompiledPrerequisite[] | null;
  readonly geo: CompiledGeo | null;
  /** Per variant in the order written (a key listed twice gets the first), non-empty lists only. */
  readonly targets: readonly CompiledTargets[] | null;
  /** The rules' conditions (null when there are no rules) and, by rule index, what each serves. */
  readonly program: RuleProgram | null;
  readonly rules: readonly CompiledRule[];
  /** The fallthrough, inline: exactly one of the two is non-null. */
  readonly fallthroughResult: EvaluationResult | null;
  readonly fallthroughSplit: CompiledSplit | null;
  readonly variants: Readonly<Record<string, JsonValue>>;
}
