/** Test helpers: build one-flag documents and evaluate them. Pure, no I/O. */
import { compile, evaluate } from "../../src/eval/index";
import type { EvaluationContext, EvaluationResult } from "../../src/eval/types";
import type { FlagDefinition, FlagsDocument, SegmentDefinition } from "../../src/flags/types";

/** 2026-01-15T12:00:00Z, a Thursday. */
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** The fields a test pins; absent fields must be undefined in the result. */
export type Expected = Pick<EvaluationResult, "value" | "variant" | "reason" | "ruleId" | "errorCode">;

/** Evaluates flag "f" of a document made of `flag` (plus other flags and segments). */
export function evalFlag(
  flag: FlagDefinition,
  ctx: EvaluationContext,
  now = NOW,
  others: Record<string, FlagDefinition> = {},
  segments: Record<string, SegmentDefinition> = {},
): EvaluationResult {
  const doc: FlagsDocument = { flags: { ...others, f: flag }, segments };
  return evaluate(compile(doc), "f", ctx, now);
}

/** The pinned fields of a result, for toEqual against an Expected. */
export function pinned(r: EvaluationResult): Expected {
  return { value: r.value, variant: r.variant, reason: r.reason, ruleId: r.ruleId, errorCode: r.errorCode };
}

/** Expected result serving a variant of a boolean flag. */
export function bool(on: boolean, reason: Expected["reason"], ruleId?: string): Expected {
  return { value: on, variant: on ? "on" : "off", reason, ruleId, errorCode: undefined };
}

/** Expected error result. */
export function error(errorCode: Expected["errorCode"], ruleId?: string): Expected {
  return { value: undefined, variant: undefined, reason: "ERROR", ruleId, errorCode };
}
