/**
 * When each flag was last evaluated, for "not evaluated for N days": from the worker's counts
 * (GET /v1/stats: each flag's last evaluated time, and when counting began), or a note saying why
 * they are unknown. A flag the counts never saw is "never evaluated" only once counting has run for
 * the report's N days; before that nobody can tell. Pure data.
 */
import type { StatsAnswer } from "../../observe/types";

export type EvaluationCounts =
  | { known: false; note: string }
  | {
      known: true;
      /** Flag key -> ISO instant of its latest evaluation; a flag missing here was not evaluated. */
      lastEvaluated: ReadonlyMap<string, string | null>;
      /** When the worker began counting (ISO instant), or null when it has counted nothing yet. */
      countingSince: string | null;
      /** Where the counts come from, for the report's header (e.g. "worker https://..."). */
      where?: string;
    };

/** What the report says when it did not read counts (offline, or the worker does not keep them). */
export const NO_EVALUATION_COUNTS: EvaluationCounts = {
  known: false,
  note: "unknown (no evaluation counts were read)",
};

/** The counts of a GET /v1/stats answer. */
export function evaluationsFromStats(answer: StatsAnswer, where?: string): EvaluationCounts {
  return {
    known: true,
    lastEvaluated: new Map(answer.flags.map((f) => [f.key, f.lastEvaluated])),
    countingSince: answer.countingSince ?? null,
    ...(where === undefined ? {} : { where }),
  };
}
