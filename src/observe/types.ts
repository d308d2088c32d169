/**
 * The vocabulary of evaluation counts: the rows a flush hands to its sinks, the sink interface, and
 * what the stats endpoint answers. Types and constants only, no I/O.
 */
import type { GuardSignal, GuardsAnswer, ResetRefusal } from "../guard/types";

/** Country of a request without a usable `request.cf.country` (Cloudflare's own code for it). */
export const COUNTRY_UNKNOWN = "XX";
/** Countries past COUNTS_COUNTRY_LIMIT in one window. */
export const COUNTRY_OTHER = "other";
/** How long the aggregator keeps per-minute counts. */
export const RETENTION_MS = 24 * 60 * 60_000;

/** One aggregated row of a window: how many times `flag` served `variant` for `reason`. */
export interface CountRow {
  flag: string;
  /** "" for a result without a variant (an evaluation error). */
  variant: string;
  reason: string;
  /** "" when the country dimension is off; else a 2-letter code, XX or `other`. */
  country: string;
  count: number;
}

/**
 * One aggregated outcome row of a window: `count` outcome events named `event` from visitors the
 * worker served `variant` of `flag` when the event came in (attributed by the worker, see
 * src/http/routes/outcomes.ts). No reason or country: outcomes are compared per variant.
 */
export interface OutcomeRow {
  flag: string;
  variant: string;
  event: string;
  count: number;
}

/** A window's rows, flushed together: `from`/`to` are epoch ms, and lie within one minute. */
export interface CountBatch {
  environment: string;
  from: number;
  to: number;
  rows: CountRow[];
  /** Outcome events attributed in the window (absent or empty when there were none). */
  outcomes?: OutcomeRow[];
  /**
   * The snapshot version the isolate served when it flushed. Guards judge only rows of the version
   * they were armed for (a window that spans a publish is the new version's, within one window).
   */
  version?: number;
}

/** Where flushed counts go (Analytics Engine, the aggregator, a test double). */
export interface CountSink {
  readonly name: string;
  write(batch: CountBatch): Promise<void> | void;
  /**
   * Rows held back for later invocations (Analytics Engine takes a bounded number of points per
   * invocation), and a call that writes the next share of them: the counter calls it on a later request.
   */
  backlog?(): number;
  drain?(): void;
  /** Rows given up on (a backlog past its bound). */
  dropped?(): number;
}

/** GET /v1/stats: served counts per flag and variant in per-minute buckets. */
export interface StatsAnswer {
  environment: string;
  /** The first and the last minute asked for (ISO 8601), inclusive. */
  from: string;
  to: string;
  bucketSeconds: 60;
  /**
   * When this aggregator counted its first evaluation (ISO 8601), or null when it has counted none:
   * a flag "never evaluated" is only news once counting has run for a while.
   */
  countingSince: string | null;
  flags: FlagStats[];
}

export interface FlagStats {
  key: string;
  /** The end of the latest flushed window that counted this flag (any time, not only this range). */
  lastEvaluated: string | null;
  total: number;
  variants: VariantStats[];
}

export interface VariantStats {
  /** null for evaluations that served no variant (errors). */
  variant: string | null;
  total: number;
  /** Count per reason (TARGETING_MATCH, SPLIT, DEFAULT, ...). */
  reasons: Record<string, number>;
  /** Minutes with counts, oldest first: [ISO minute, count]. Minutes without any are left out. */
  points: [string, number][];
  /** Outcome events attributed to this variant in the range, per event name (`error`, `conversion`). */
  outcomes: Record<string, number>;
}

/** What the aggregator is asked: counts since `since` (epoch ms) up to `now`, for one flag or all. */
export interface StatsQuery {
  flag?: string;
  since: number;
  now: number;
}

/** The aggregator as the worker sees it; a Durable Object stub satisfies it by shape (JS RPC). */
export interface Aggregator {
  add(batch: CountBatch): Promise<void>;
  stats(query: StatsQuery): Promise<StatsAnswer>;
}

/** The aggregator's guard side (src/guard), as GET /v1/guards and POST /v1/guards/reset reach it. */
export interface GuardJudge {
  guards(query: { environment: string; now: number }): Promise<GuardsAnswer>;
  resetGuard(
    token: string,
    now: number,
  ): Promise<{ ok: true; signal: GuardSignal } | { ok: false; problem: ResetRefusal }>;
}
