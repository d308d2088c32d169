/**
 * Observation: what the worker served, counted off the hot path. Evaluation counts per flag x variant
 * x reason (x country, optional and capped) are aggregated in isolate memory by identity of the
 * engine's shared results (counter.ts), flushed in the background to Workers Analytics Engine and to
 * the environment's aggregator Durable Object (sinks.ts, aggregator.ts), and read back by
 * GET /v1/stats and `edgeflags stats`. Outcome events, origin health and guards will feed the same
 * rows and sinks. Only the sinks and the aggregator do I/O. Design and scale: docs/observability.md.
 */
export { type CounterOptions, type CounterStatus, EvaluationCounter, fold } from "./counter";
export { aggregatorSink, analyticsEngineSink, type DataPointWriter } from "./sinks";
export * from "./types";
