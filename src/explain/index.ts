/**
 * Explain: why a context gets what it gets. A plain interpreter of a snapshot's flag definitions
 * (interpret.ts) records each step of the contract's evaluation order - kill switch, schedule,
 * prerequisites with their own traces, geo lists, individual targets, each rule's conditions and
 * segments with the values read, the fallthrough, and a split's bucket against its weight ranges -
 * as plain JSON (trace.ts). It reuses the engine's pure helpers for every decision, and a property
 * test holds its results to the engine's, so the compiled hot path (src/eval) carries no tracing at
 * all. Pure, no I/O: POST /v1/explain (src/http/routes/explain.ts) supplies the snapshot and the
 * moment, `edgeflags explain` prints the answer.
 */
export { explainAll, explainFlag } from "./interpret";
export type {
  AnyConditionTrace,
  ConditionTrace,
  ExplainedResult,
  FlagTrace,
  SegmentConditionTrace,
  ServeTrace,
  SplitRange,
  SplitTrace,
  StepTrace,
} from "./trace";
