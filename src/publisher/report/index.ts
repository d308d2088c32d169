/**
 * The weekly stale report (`edgeflags report`): which flags are expired, past their kind's lifetime,
 * serving one variant to everyone long enough to remove, not evaluated, or referenced by no code,
 * grouped by owner. `serving` tells whether a flag serves one variant and since which publish,
 * `evaluations` is the one place evaluation counts plug in, `build` turns flags, references and
 * history into the report's data and `markdown` renders it. All pure; the command does the I/O.
 */
export {
  buildReport,
  CATEGORIES,
  type Category,
  type Finding,
  type FlagEntry,
  type HistoryInput,
  type ReportInput,
  type StaleReport,
} from "./build";
export { type EvaluationCounts, evaluationsFromStats, NO_EVALUATION_COUNTS } from "./evaluations";
export { categoryTitle, MAX_REFERENCES, renderMarkdown } from "./markdown";
export {
  changesServing,
  METADATA_FIELDS,
  type Serving,
  type ServingSince,
  servingOf,
  servingSince,
} from "./serving";
