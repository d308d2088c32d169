/**
 * Evaluation counts in isolate memory: the hot path adds results to a table keyed by the result
 * object itself (the engine hands out shared frozen results, one per flag, variant, reason and rule),
 * so counting is one Map lookup and an increment per result. A table is flushed to the sinks in the
 * background (`waitUntil`) once its window ends (at most every `flushMs`, never across a minute
 * boundary) or once it holds `maxRows` cells. No I/O of its own: the sinks do it.
 */
import type { EvaluationResult } from "../eval/types";
import { latencyEvent, originClassEvent } from "./origin";
import {
  COUNTRY_OTHER,
  COUNTRY_UNKNOWN,
  type CountBatch,
  type CountRow,
  type CountSink,
  type OutcomeRow,
} from "./types";

export interface CounterOptions {
  environment: string;
  sinks: readonly CountSink[];
  /** Longest time counts wait in memory before a flush, ms (a window also ends at each full minute). */
  flushMs: number;
  /** Distinct cells (result x country) that make a table flush at once, whatever its age. */
  maxRows: number;
  /** Count per `request.cf.country` too. */
  country: boolean;
  /** Most distinct countries per window; the rest are counted as COUNTRY_OTHER. */
  countryLimit: number;
  log?: (event: Record<string, unknown>) => void;
  /** The snapshot version served when a window is flushed (the aggregator's guards judge per version). */
  version?: () => number | undefined;
}

/** What /healthz shows of the counter. */
export interface CounterStatus {
  enabled: true;
  sinks: string[];
  flushSeconds: number;
  country: boolean;
  /** Cells counted since the last flush. */
  pendingCells: number;
  /** Rows a sink holds back for later requests (Analytics Engine's per-invocation limit). */
  backlog: number;
  /** Rows given up on because a backlog overflowed. */
  dropped: number;
  flushes: number;
  lastFlushAt: string | null;
  lastError: string | null;
}

/** One count; an object so the hot path increments in place instead of a second Map write. */
interface Cell {
  n: number;
}

type Table = Map<EvaluationResult, Cell>;
/** Outcome events by the result served when they came in, then by event name. */
type OutcomeTable = Map<EvaluationResult, Map<string, Cell>>;
type WaitUntil = (p: Promise<unknown>) => void;

const MINUTE_MS = 60_000;
/** countOrigin's arguments to countOutcomes, reused (the call is synchronous). */
const ORIGIN_PAIR: string[] = ["", ""];
const ONE: EvaluationResult[] = [];

/** The end of a window opened at `now`: `flushMs` later, or the next full minute if sooner. */
function deadlineOf(now: number, flushMs: number): number {
  return Math.min(now + flushMs, (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS);
}

/** `request.cf.country` as counted: a 2-letter code (Cloudflare's "XX" and "T1" included), else XX. */
function countryCode(country: unknown): string {
  return typeof country === "string" && /^[A-Z][A-Z0-9]$/.test(country) ? country : COUNTRY_UNKNOWN;
}

export class EvaluationCounter {
  readonly #o: CounterOptions;
  /** The table without the country dimension. */
  #table: Table = new Map();
  /** Per country, when the dimension is on (at most countryLimit + 1 with COUNTRY_OTHER). */
  #byCountry = new Map<string, Table>();
  /** Outcome events attributed to served results (no country dimension). */
  #outcomes: OutcomeTable = new Map();
  #cells = 0;
  #from: number;
  /** When this window ends. */
  #windowEnd: number;
  /** When a request must stop to flush or drain: the window's end, or the next request for a backlog. */
  #deadline: number;
  #flushes = 0;
  #lastFlushAt: number | undefined;
  #lastError: string | undefined;
  /** Flushes still being written; stats reads wait for them. */
  #writing = new Set<Promise<void>>();

  /** Whether `count` wants the request's country (read it only then: `request.cf` is not free). */
  get byCountry(): boolean {
    return this.#o.country;
  }

  constructor(options: CounterOptions, now: number) {
    this.#o = options;
    this.#from = now;
    this.#windowEnd = deadlineOf(now, options.flushMs);
    this.#deadline = this.#windowEnd;
  }

  /** Counts one result served at `now` (epoch ms) to a request from `country` (request.cf.country). */
  count(r: EvaluationResult, country: unknown, now: number, waitUntil: WaitUntil): void {
    if (now >= this.#deadline) this.#due(now, waitUntil);
    const table = this.#o.country ? this.#countryTable(country) : this.#table;
    const cell = table.get(r);
    if (cell !== undefined) cell.n++;
    else this.#add(table, r, now, waitUntil);
  }

  /** Counts every result of a bulk evaluation (see `count`). */
  countAll(results: readonly EvaluationResult[], country: unknown, now: number, waitUntil: WaitUntil): void {
    if (now >= this.#deadline) this.#due(now, waitUntil);
    let table = this.#o.country ? this.#countryTable(country) : this.#table;
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      const cell = table.get(r);
      if (cell !== undefined) cell.n++;
      else if (this.#add(table, r, now, waitUntil)) {
        table = this.#o.country ? this.#countryTable(country) : this.#table;
      }
    }
  }

  /**
   * Counts outcome events (`events`, one name per event) against every result the worker serves the
   * visitor now: each result x each event. Results without a variant (errors) get nothing: there is no
   * variant to attribute to. Same window, table bound and flush as evaluation counts.
   */
  countOutcomes(
    results: readonly EvaluationResult[],
    events: readonly string[],
    now: number,
    waitUntil: WaitUntil,
  ): void {
    if (now >= this.#deadline) this.#due(now, waitUntil);
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.variant === undefined) continue;
      let byEvent = this.#outcomes.get(r);
      if (byEvent === undefined) {
        byEvent = new Map();
        this.#outcomes.set(r, byEvent);
      }
      for (const name of events) {
        const cell = byEvent.get(name);
        if (cell !== undefined) {
          cell.n++;
          continue;
        }
        byEvent.set(name, { n: 1 });
        if (++this.#cells >= this.#o.maxRows) {
          this.#rotate(now, waitUntil);
          byEvent = new Map();
          this.#outcomes.set(r, byEvent);
        }
      }
    }
  }

  /**
   * Records one origin answer of a gated request (gateway mode) against the gate flag's served result:
   * its status class (`status` 0 for a failed fetch) and its latency bucket, as outcome rows
   * (src/observe/origin.ts). Results without a variant are skipped.
   */
  countOrigin(r: EvaluationResult, status: number, ms: number, now: number, waitUntil: WaitUntil): void {
    ORIGIN_PAIR[0] = originClassEvent(status);
    ORIGIN_PAIR[1] = latencyEvent(ms);
    ONE[0] = r;
    this.countOutcomes(ONE, ORIGIN_PAIR, now, waitUntil);
  }

  /** Writes what is counted now and waits for every flush under way (the stats route reads after it). */
  async flushNow(now: number): Promise<void> {
    const pending: Promise<unknown>[] = [];
    if (this.#cells > 0) this.#rotate(now, (p) => pending.push(p));
    await Promise.all([...pending, ...this.#writing]);
  }

  /**
   * The window is over (flush it), or a sink holds rows back for later invocations (let it write its
   * next share: each request is an invocation of its own). Then the next look is due at the window's
   * end, or at the next request's time (never within this one) while a backlog remains.
   */
  #due(now: number, waitUntil: WaitUntil): void {
    if (now >= this.#windowEnd) this.#rotate(now, waitUntil);
    else for (const s of this.#o.sinks) if ((s.backlog?.() ?? 0) > 0) s.drain?.();
    this.#deadline = this.#backlogged() ? Math.min(this.#windowEnd, now + 1) : this.#windowEnd;
  }

  #backlogged(): boolean {
    for (const s of this.#o.sinks) if ((s.backlog?.() ?? 0) > 0) return true;
    return false;
  }

  status(): CounterStatus {
    return {
      enabled: true,
      sinks: this.#o.sinks.map((s) => s.name),
      flushSeconds: this.#o.flushMs / 1000,
      country: this.#o.country,
      pendingCells: this.#cells,
      backlog: this.#o.sinks.reduce((n, s) => n + (s.backlog?.() ?? 0), 0),
      dropped: this.#o.sinks.reduce((n, s) => n + (s.dropped?.() ?? 0), 0),
      flushes: this.#flushes,
      lastFlushAt: this.#lastFlushAt === undefined ? null : new Date(this.#lastFlushAt).toISOString(),
      lastError: this.#lastError ?? null,
    };
  }

  /** A first count for `r`; true when that filled the table and it was flushed (a new one is current). */
  #add(table: Table, r: EvaluationResult, now: number, waitUntil: WaitUntil): boolean {
    table.set(r, { n: 1 });
    if (++this.#cells < this.#o.maxRows) return false;
    this.#rotate(now, waitUntil);
    return true;
  }

  #countryTable(country: unknown): Table {
    let code = countryCode(country);
    let table = this.#byCountry.get(code);
    if (table !== undefined) return table;
    // The cap bounds memory and the rows of a flush whatever the traffic's spread over countries.
    if (this.#byCountry.size >= this.#o.countryLimit) {
      code = COUNTRY_OTHER;
      table = this.#byCountry.get(code);
      if (table !== undefined) return table;
    }
    table = new Map();
    this.#byCountry.set(code, table);
    return table;
  }

  /** Starts a new window and hands the old one's counts to the sinks in the background. */
  #rotate(now: number, waitUntil: WaitUntil): void {
    const table = this.#table;
    const byCountry = this.#byCountry;
    const outcomes = this.#outcomes;
    const from = this.#from;
    const cells = this.#cells;
    this.#table = new Map();
    this.#byCountry = new Map();
    this.#outcomes = new Map();
    this.#cells = 0;
    this.#from = now;
    this.#windowEnd = deadlineOf(now, this.#o.flushMs);
    this.#deadline = this.#windowEnd;
    if (cells === 0) return;
    const write = this.#write(table, byCountry, outcomes, from, now).then(() => {
      // Rows a sink held back are written by the next requests, one share each.
      if (this.#backlogged()) this.#deadline = Math.min(this.#deadline, now + 1);
    });
    this.#writing.add(write);
    write.finally(() => this.#writing.delete(write));
    waitUntil(write);
  }

  async #write(
    table: Table,
    byCountry: Map<string, Table>,
    outcomes: OutcomeTable,
    from: number,
    to: number,
  ): Promise<void> {
    // Folding waits for a later microtask: the request that crossed the deadline answers first.
    await null;
    const batch: CountBatch = { environment: this.#o.environment, from, to, rows: fold(table, byCountry) };
    const version = this.#o.version?.();
    if (version !== undefined) batch.version = version;
    if (outcomes.size > 0) batch.outcomes = foldOutcomes(outcomes);
    this.#flushes++;
    this.#lastFlushAt = to;
    await Promise.all(
      this.#o.sinks.map(async (sink) => {
        try {
          await sink.write(batch);
        } catch (err) {
          this.#lastError = `${sink.name}: ${String(err)}`;
          this.#o.log?.({ event: "counts_flush_failed", level: "warn", sink: sink.name, error: String(err) });
        }
      }),
    );
  }
}

/**
 * The rows of a window: cells with the same flag, variant, reason and country (results of different
 * rules) added together.
 */
export function fold(table: Table, byCountry: Map<string, Table>): CountRow[] {
  const rows = new Map<string, CountRow>();
  const add = (t: Table, country: string) => {
    for (const [r, cell] of t) {
      const variant = r.variant ?? "";
      const id = `${r.key}\u0000${variant}\u0000${r.reason}\u0000${country}`;
      const row = rows.get(id);
      if (row) row.count += cell.n;
      else rows.set(id, { flag: r.key, variant, reason: r.reason, country, count: cell.n });
    }
  };
  add(table, "");
  for (const [country, t] of byCountry) add(t, country);
  return [...rows.values()];
}

/** The outcome rows of a window: results of different rules with the same flag and variant added up. */
export function foldOutcomes(outcomes: OutcomeTable): OutcomeRow[] {
  const rows = new Map<string, OutcomeRow>();
  for (const [r, byEvent] of outcomes) {
    const variant = r.variant ?? "";
    for (const [event, cell] of byEvent) {
      const id = `${r.key}\u0000${variant}\u0000${event}`;
      const row = rows.get(id);
      if (row) row.count += cell.n;
      else rows.set(id, { flag: r.key, variant, event, count: cell.n });
    }
  }
  return [...rows.values()];
}
