/**
 * The shape of an explanation: every step evaluation went through for one flag, in the contract's
 * order, with what each step read and decided, ending with the result. Plain JSON data (POST
 * /v1/explain sends it as it is, `edgeflags explain` prints it). Pure types, no I/O.
 */

import type { EvaluationResult, GeoFacts } from "../eval/types";
import type { JsonValue } from "../flags/types";

/** The result of the explained evaluation: an engine result without its key (the trace has it). */
export type ExplainedResult = Omit<EvaluationResult, "key">;

/** One attribute condition: what it tests, the value read (absent: missing) and whether it holds. */
export interface ConditionTrace {
  kind: "attribute";
  attribute: string;
  op: string;
  values?: JsonValue[];
  /** The value the context has for the attribute; absent when it has none (or null). */
  read?: unknown;
  holds: boolean;
}

/** A segment condition: membership (and how it was decided), negation, and whether it holds. */
export interface SegmentConditionTrace {
  kind: "segment";
  segment: string;
  negate: boolean;
  member: boolean;
  /** `excluded` / `included` (the key lists), `rules[i]` (the first matching rule), or `no match`. */
  via: string;
  /** Each segment rule's conditions, when the key lists did not decide. */
  rules?: { index: number; matched: boolean; conditions: ConditionTrace[] }[];
  holds: boolean;
}

export type AnyConditionTrace = ConditionTrace | SegmentConditionTrace;

/** A weight range of a split: variant served for buckets in [from, to). */
export interface SplitRange {
  variant: string;
  weight: number;
  from: number;
  to: number;
}

/** How a split picked its variant. */
export interface SplitTrace {
  /** The attribute hashed (`key`: the targeting key). */
  by: string;
  salt: string;
  /** The value hashed; absent when missing (the split then answers an error). */
  bucketKey?: string;
  /** MurmurHash3 x86_32 of the UTF-8 of salt + bucketKey. */
  hash?: number;
  totalWeight: number;
  /** floor(hash * totalWeight / 2^32): the ranges below say which variant it falls in. */
  bucket?: number;
  /** `base`, or the progressive step in force (index in time order, its `at`). */
  weights: "base" | { step: number; at: string };
  /** Every progressive step in time order (absent without steps), the one in force marked. */
  steps?: { at: string; inForce: boolean }[];
  ranges: SplitRange[];
  variant?: string;
}

/** What a rule or the fallthrough serves. */
export interface ServeTrace {
  variant?: string;
  split?: SplitTrace;
}

export type StepTrace =
  | { step: "flag"; found: false }
  | { step: "enabled"; enabled: boolean; decides: boolean }
  | {
      step: "schedule";
      active: boolean;
      from?: string;
      until?: string;
      /** Whether `at` is inside [from, until). */
      inBounds: boolean;
      timezone?: string;
      /** Local weekday and time in the schedule's zone (only with weekly windows). */
      localTime?: string;
      windows?: { days: string[]; start: string; end: string; open: boolean }[];
      decides: boolean;
    }
  | {
      step: "prerequisite";
      flag: string;
      variants: string[];
      /** The variant the prerequisite got (absent: it answered an error). */
      got?: string;
      met: boolean;
      trace: FlagTrace;
      decides: boolean;
    }
  | {
      step: "geo";
      geo: GeoFacts | null;
      /** Which block list entry matched (absent: none did, or no block list). */
      blocked?: string;
      /** Which allow list entry matched (absent: none did, or no allow list). */
      allowed?: string;
      hasBlock: boolean;
      hasAllow: boolean;
      decides: boolean;
      serve?: string;
    }
  | {
      step: "targets";
      targetingKey?: string;
      lists: { variant: string; size: number; listed: boolean }[];
      decides: boolean;
    }
  | {
      step: "rule";
      index: number;
      id: string;
      description?: string;
      conditions: AnyConditionTrace[];
      matched: boolean;
      serve?: ServeTrace;
      decides: boolean;
    }
  | { step: "fallthrough"; serve: ServeTrace; decides: true };

/** One flag's explanation: the steps reached, in order, and the result. */
export interface FlagTrace {
  key: string;
  steps: StepTrace[];
  result: ExplainedResult;
}
