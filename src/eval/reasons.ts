/**
 * Factories for evaluation results: the closed set of outcomes, each built one way. Compile uses them
 * to pre-build the results a flag can return, so evaluation hands out shared frozen objects.
 * Pure, no I/O.
 */
import type { FlagType, JsonValue } from "../flags/types";
import type { ErrorCode, EvaluationResult, Reason } from "./types";

/**
 * ruleIds reported by the fixed steps of the evaluation order. The kill switch reports none: reason
 * DISABLED without a ruleId means `enabled: false`, with "schedule" it means out of schedule, with
 * "guard" a tripped guard.
 */
export const RULE_SCHEDULE = "schedule";
export const RULE_GEO = "geo";
export const RULE_TARGET = "target";
export const RULE_FALLTHROUGH = "fallthrough";
/** A tripped guard (src/guard): reason DISABLED, the off variant, as a kill but unsigned and per version. */
export const RULE_GUARD = "guard";
export const PREREQUISITE_PREFIX = "prerequisite:";

/** A result serving a variant. Frozen: one object is shared by every evaluation with this outcome. */
export function served(
  key: string,
  type: FlagType,
  variant: string,
  value: JsonValue,
  reason: Reason,
  ruleId: string | undefined,
): EvaluationResult {
  // One property order for every result keeps them all on one hidden class.
  return Object.freeze({
    key,
    value,
    variant,
    reason,
    errorCode: undefined,
    errorMessage: undefined,
    ruleId,
    type,
  });
}

/** An error result: no value, the caller's default applies. */
export function failed(
  key: string,
  type: FlagType | undefined,
  errorCode: ErrorCode,
  errorMessage: string,
  ruleId?: string,
): EvaluationResult {
  return Object.freeze({
    key,
    value: undefined,
    variant: undefined,
    reason: "ERROR" as const,
    errorCode,
    errorMessage,
    ruleId,
    type,
  });
}

/** A split's result when the context has no bucket key: the targeting key, or attribute `by`. */
export function splitKeyMissing(
  key: string,
  type: FlagType,
  byKey: boolean,
  by: string,
  ruleId: string,
): EvaluationResult {
  return byKey
    ? failed(key, type, "TARGETING_KEY_MISSING", "the split needs a targeting key", ruleId)
    : failed(key, type, "INVALID_CONTEXT", `the split needs attribute "${by}"`, ruleId);
}

/** The result for a key the snapshot does not have. */
export function flagNotFound(key: string): EvaluationResult {
  return failed(key, undefined, "FLAG_NOT_FOUND", `flag "${key}" not found`);
}

/** The result for a caller expecting another type than the flag's. */
export function typeMismatch(key: string, actual: FlagType, expected: FlagType): EvaluationResult {
  return failed(key, actual, "TYPE_MISMATCH", `flag "${key}" is ${actual}, not ${expected}`);
}
