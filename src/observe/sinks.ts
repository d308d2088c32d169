/**
 * The two sinks a flush writes to. Production: Workers Analytics Engine, one data point per row
 * (blobs environment, flag, variant, reason, country, event; doubles evaluations, outcome events, the
 * isolate sampling weight; index flag), written in the
 * background without waiting on anything. Local (npm start, tests, later guards): the environment's
 * aggregator Durable Object, one RPC per flush carrying every row. I/O: those two bindings.
 */
import type { Aggregator, CountBatch, CountRow, CountSink, OutcomeRow } from "./types";

/**
 * Most data points a Worker invocation may write to Analytics Engine (its documented limit, 250), less
 * a margin for anything else the invocation writes. Rows past it wait for the next flush.
 */
export const AE_POINTS_PER_FLUSH = 200;
/** Rows held back for later flushes at most; older ones are dropped (and counted) past it. */
export const AE_MAX_BACKLOG = 10_000;

/** The part of the Analytics Engine binding used here. */
export interface DataPointWriter {
  writeDataPoint(point: { blobs: string[]; doubles: number[]; indexes: string[] }): void;
}

/**
 * Analytics Engine: one data point per row, at most AE_POINTS_PER_FLUSH per invocation; the rest wait
 * in a bounded backlog that the counter drains on later requests.
 */
export function analyticsEngineSink(
  dataset: DataPointWriter,
  /** What each written row stands for: 1 / COUNTS_SAMPLE (double3), so weighted sums stay unbiased. */
  weight = 1,
): CountSink & { dropped(): number; backlog(): number; drain(): void } {
  let backlog: { environment: string; row: CountRow | OutcomeRow }[] = [];
  let dropped = 0;
  const drain = () => {
    const now = backlog.slice(0, AE_POINTS_PER_FLUSH);
    backlog = backlog.slice(now.length);
    for (const { environment, row } of now) {
      // An outcome row has its event in blob6 and its count in double2 (double1 0); an evaluation row
      // leaves both out (AE reads "" and 0): queries summing double1 for served counts stay right.
      const outcome = "event" in row;
      dataset.writeDataPoint({
        blobs: outcome
          ? [environment, row.flag, row.variant, "", "", row.event]
          : [environment, row.flag, row.variant, row.reason, row.country],
        doubles: outcome ? [0, row.count, weight] : [row.count, 0, weight],
        // The index is AE's sampling key: a flag's rows are kept or sampled together.
        indexes: [row.flag],
      });
    }
  };
  return {
    name: "analytics-engine",
    dropped: () => dropped,
    backlog: () => backlog.length,
    drain,
    write(batch: CountBatch) {
      for (const row of batch.rows) backlog.push({ environment: batch.environment, row });
      for (const row of batch.outcomes ?? []) backlog.push({ environment: batch.environment, row });
      if (backlog.length > AE_MAX_BACKLOG) {
        dropped += backlog.length - AE_MAX_BACKLOG;
        backlog = backlog.slice(backlog.length - AE_MAX_BACKLOG);
      }
      drain();
    },
  };
}

/** The aggregator Durable Object of the environment: one RPC per flush. */
export function aggregatorSink(aggregator: () => Aggregator): CountSink {
  return {
    name: "aggregator",
    write: (batch) => aggregator().add(batch),
  };
}
