/**
 * The evaluation engine's public surface: compile a validated flags document once, then evaluate it
 * for many contexts. Pure, no I/O: runs unchanged in workerd, Node and browsers.
 *
 * Choices the contract leaves open, decided here (and pinned by test/eval and test/vectors):
 * - keys (and evaluateAll's order) are sorted by UTF-16 code unit, independent of document order;
 * - the kill switch reports reason DISABLED with no ruleId (a schedule reports ruleId "schedule");
 * - results are shared, frozen objects, variant values deep-frozen copies: never mutate them;
 * - a null attribute counts as missing; an empty targeting key cannot be bucketed (TARGETING_KEY_MISSING);
 * - not_in / not_equals need a scalar attribute: an object or array matches neither;
 * - date-times without an offset (attribute side) are read as UTC; schedule instants must carry one;
 * - a date or time that does not exist ("2026-02-30", "T25:00") is not a date: before/after are false;
 * - a split buckets in the order written, whatever the names (a list keeps what a map cannot);
 * - a key listed under two variants in `targets` gets the first one listed;
 * - a weekly window whose end is before its start runs overnight into the next day.
 */
export { bucketOf, murmur3Utf8, pickVariant } from "./bucket";
export { CompiledFlags, compile } from "./compile";
export { CompileError, type CompileErrorCode } from "./errors";
export { type EvaluateAllOptions, evaluate, evaluateAll, evaluateValues, geoRestricts } from "./evaluate";
export type { ErrorCode, EvaluationContext, EvaluationResult, GeoFacts, Reason } from "./types";
