/**
 * The evaluation engine's public surface: compile a validated flags document once, then evaluate it
 * for many contexts. Pure, no I/O: runs unchanged in workerd, Node and browsers.
 */
export { bucketOf, murmur3Utf8, pickVariant } from "./bucket";
export { CompiledFlags, compile } from "./compile";
export { CompileError, type CompileErrorCode } from "./errors";
export { type EvaluateAllOptions, evaluate, evaluateAll, evaluateValues } from "./evaluate";
export type { ErrorCode, EvaluationContext, EvaluationResult, GeoFacts, Reason } from "./types";
