/**
 * When each flag was last evaluated, for "not evaluated for N days". The worker records no
 * evaluation counts yet, so every report says so, from this one place; a source of counts plugs in
 * as `{ known: true, lastEvaluated }` and the report uses it with no other change. Pure data.
 */

export type EvaluationCounts =
  | { known: false; note: string }
  | {
      known: true;
      /** Flag key -> ISO instant of its latest evaluation, or null when it was never evaluated. */
      lastEvaluated: ReadonlyMap<string, string | null>;
    };

/** What the report says while the worker records no evaluation counts. */
export const NO_EVALUATION_COUNTS: EvaluationCounts = {
  known: false,
  note: "unknown (the worker records no evaluation counts yet)",
};
