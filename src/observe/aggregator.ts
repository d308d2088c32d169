/**
 * The counts aggregator: one Durable Object per environment (SQLite-backed, like the beacon) keeping
 * rolling per-minute windows of the counts isolates flush to it, for 24 hours, and when each flag was
 * last evaluated. It serves `npm start`, the tests and the stats endpoint; guards will read it too.
 * Flushes are added up in memory and a minute is written to SQLite once, when it is over (an alarm,
 * the next minute's first flush, or a read): rows written follow distinct rows per minute, not
 * flushes, which is what SQLite storage bills. A restart (a deploy) loses at most the open minute.
 * I/O: Durable Object storage.
 */
import { DurableObject } from "cloudflare:workers";
import {
  type Aggregator,
  type CountBatch,
  type CountRow,
  type FlagStats,
  type OutcomeRow,
  RETENTION_MS,
  type StatsAnswer,
  type StatsQuery,
  type VariantStats,
} from "./types";

const MINUTE_MS = 60_000;
/** How long after a minute ends its counts are written: late flushes of that minute still join it. */
const ALARM_SLACK_MS = 15_000;
/** How long a flag's last-evaluated time is kept after it stops being evaluated. */
const LAST_SEEN_RETENTION_MS = 400 * 24 * 60 * MINUTE_MS;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counts (
  minute INTEGER NOT NULL,
  flag TEXT NOT NULL,
  variant TEXT NOT NULL,
  reason TEXT NOT NULL,
  country TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (minute, flag, variant, reason, country)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counts_by_flag ON counts (flag, minute);
CREATE TABLE IF NOT EXISTS outcomes (
  minute INTEGER NOT NULL,
  flag TEXT NOT NULL,
  variant TEXT NOT NULL,
  event TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (minute, flag, variant, event)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS last_seen (flag TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const iso = (ms: number) => new Date(ms).toISOString();

/** The Durable Object class bound as AGGREGATOR (see wrangler.toml); called over JS RPC. */
export class CountsAggregator extends DurableObject implements Aggregator {
  #ready = false;
  /** The oldest minute kept, as of the last prune (pruning runs at most once a minute). */
  #prunedBefore = 0;
  /** Counts not yet written, by minute, then by row (flag, variant, reason, country). */
  #open = new Map<number, Map<string, CountRow>>();
  /** Outcome counts not yet written, by minute, then by row (flag, variant, event). */
  #openOutcomes = new Map<number, Map<string, OutcomeRow>>();
  /** Last-evaluated times not yet written. */
  #seen = new Map<string, number>();

  #sql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.#ready) {
      sql.exec(SCHEMA);
      this.#ready = true;
    }
    return sql;
  }

  async add(batch: CountBatch): Promise<void> {
    // A window lies within one minute (the counter closes windows at each full minute).
    const minute = Math.floor(batch.from / MINUTE_MS) * MINUTE_MS;
    const alarmed = this.#open.has(minute) || this.#openOutcomes.has(minute);
    let open = this.#open.get(minute);
    if (!open) {
      open = new Map();
      this.#open.set(minute, open);
    }
    if (!alarmed) {
      // Written once the minute is over, even if no flush follows (an isolate's last window).
      await this.ctx.storage.setAlarm(minute + MINUTE_MS + ALARM_SLACK_MS);
    }
    for (const r of batch.rows) {
      if (!(r.count > 0)) continue;
      const id = `${r.flag}\u0000${r.variant}\u0000${r.reason}\u0000${r.country}`;
      const row = open.get(id);
      if (row) row.count += Math.round(r.count);
      else open.set(id, { ...r, count: Math.round(r.count) });
      this.#seen.set(r.flag, Math.max(this.#seen.get(r.flag) ?? 0, batch.to));
    }
    if (batch.outcomes && batch.outcomes.length > 0) {
      let outcomes = this.#openOutcomes.get(minute);
      if (!outcomes) {
        outcomes = new Map();
        this.#openOutcomes.set(minute, outcomes);
      }
      for (const r of batch.outcomes) {
        if (!(r.count > 0)) continue;
        const id = `${r.flag}\u0000${r.variant}\u0000${r.event}`;
        const row = outcomes.get(id);
        if (row) row.count += Math.round(r.count);
        else outcomes.set(id, { ...r, count: Math.round(r.count) });
      }
    }
    // Minutes that are over (isolates flush late by at most a window) go to storage now.
    this.#persist(minute - MINUTE_MS);
  }

  /** Writes the minutes that are over. */
  override async alarm(): Promise<void> {
    this.#persist(Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
    if (this.#open.size > 0 || this.#openOutcomes.size > 0) {
      const next = Math.min(...this.#open.keys(), ...this.#openOutcomes.keys()) + MINUTE_MS + ALARM_SLACK_MS;
      await this.ctx.storage.setAlarm(Math.max(next, Date.now() + ALARM_SLACK_MS));
    }
  }

  /** Writes the open minutes up to `through` (all of them when omitted) to SQLite, in one transaction. */
  #persist(through = Number.POSITIVE_INFINITY): void {
    const due = [...this.#open.keys()].filter((m) => m <= through);
    const outcomesDue = [...this.#openOutcomes.keys()].some((m) => m <= through);
    if (due.length === 0 && !outcomesDue && this.#seen.size === 0) return;
    const sql = this.#sql();
    this.ctx.storage.transactionSync(() => {
      for (const minute of due) {
        for (const r of (this.#open.get(minute) as Map<string, CountRow>).values()) {
          sql.exec(
            `INSERT INTO counts (minute, flag, variant, reason, country, count) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT DO UPDATE SET count = count + excluded.count`,
            minute,
            r.flag,
            r.variant,
            r.reason,
            r.country,
            r.count,
          );
        }
        this.#open.delete(minute);
      }
      for (const [minute, rows] of this.#openOutcomes) {
        if (minute > through) continue;
        for (const r of rows.values()) {
          sql.exec(
            `INSERT INTO outcomes (minute, flag, variant, event, count) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO UPDATE SET count = count + excluded.count`,
            minute,
            r.flag,
            r.variant,
            r.event,
            r.count,
          );
        }
        this.#openOutcomes.delete(minute);
      }
      if (this.#seen.size > 0) {
        // When counting began: before it, "never evaluated" means nothing (the stale report asks).
        sql.exec(
          "INSERT OR IGNORE INTO meta (name, value) VALUES ('counting_since', ?)",
          Math.min(...this.#seen.values()),
        );
      }
      for (const [flag, at] of this.#seen) {
        sql.exec(
          "INSERT INTO last_seen (flag, at) VALUES (?, ?) ON CONFLICT DO UPDATE SET at = max(at, excluded.at)",
          flag,
          at,
        );
      }
      this.#seen.clear();
    });
    this.#prune(Date.now());
  }

  async stats(query: StatsQuery): Promise<StatsAnswer> {
    const sql = this.#sql();
    // A read sees every count received, the open minute's included.
    this.#persist();
    this.#prune(query.now);
    const from = Math.floor(Math.max(query.since, query.now - RETENTION_MS) / MINUTE_MS) * MINUTE_MS;
    const to = Math.floor(query.now / MINUTE_MS) * MINUTE_MS;
    const filter = query.flag === undefined ? "" : " AND flag = ?";
    const args = query.flag === undefined ? [from] : [from, query.flag];
    const rows = sql
      .exec<{ minute: number; flag: string; variant: string; reason: string; count: number }>(
        `SELECT minute, flag, variant, reason, SUM(count) AS count FROM counts
         WHERE minute >= ?${filter} GROUP BY minute, flag, variant, reason ORDER BY flag, variant, minute`,
        ...args,
      )
      .toArray();
    const seen = sql
      .exec<{ flag: string; at: number }>(
        `SELECT flag, at FROM last_seen${query.flag === undefined ? "" : " WHERE flag = ?"}`,
        ...(query.flag === undefined ? [] : [query.flag]),
      )
      .toArray();
    const flags = new Map<string, FlagStats>();
    const flagOf = (key: string) => {
      let f = flags.get(key);
      if (!f) {
        f = { key, lastEvaluated: null, total: 0, variants: [] };
        flags.set(key, f);
      }
      return f;
    };
    for (const s of seen) flagOf(s.flag).lastEvaluated = iso(s.at);
    const variants = new Map<string, VariantStats>();
    for (const r of rows) {
      const f = flagOf(r.flag);
      const id = `${r.flag}\u0000${r.variant}`;
      let v = variants.get(id);
      if (!v) {
        v = { variant: r.variant === "" ? null : r.variant, total: 0, reasons: {}, points: [], outcomes: {} };
        variants.set(id, v);
        f.variants.push(v);
      }
      v.total += r.count;
      f.total += r.count;
      v.reasons[r.reason] = (v.reasons[r.reason] ?? 0) + r.count;
      const at = iso(r.minute);
      const last = v.points[v.points.length - 1];
      if (last && last[0] === at) last[1] += r.count;
      else v.points.push([at, r.count]);
    }
    const outcomes = sql
      .exec<{ flag: string; variant: string; event: string; count: number }>(
        `SELECT flag, variant, event, SUM(count) AS count FROM outcomes
         WHERE minute >= ?${filter} GROUP BY flag, variant, event ORDER BY flag, variant, event`,
        ...args,
      )
      .toArray();
    for (const o of outcomes) {
      const id = `${o.flag}\u0000${o.variant}`;
      let v = variants.get(id);
      if (!v) {
        // Outcomes for a variant with no evaluation counted in the range (counted by another window).
        v = { variant: o.variant, total: 0, reasons: {}, points: [], outcomes: {} };
        variants.set(id, v);
        flagOf(o.flag).variants.push(v);
      }
      v.outcomes[o.event] = (v.outcomes[o.event] ?? 0) + o.count;
    }
    if (query.flag !== undefined) flagOf(query.flag);
    const since = sql
      .exec<{ value: number }>("SELECT value FROM meta WHERE name = 'counting_since'")
      .toArray()[0]?.value;
    return {
      environment: "",
      from: iso(from),
      to: iso(to),
      bucketSeconds: 60,
      countingSince: since === undefined ? null : iso(since),
      flags: [...flags.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
  }

  /** Drops minutes past the retention, at most once a minute. */
  #prune(now: number): void {
    const before = Math.floor((now - RETENTION_MS) / MINUTE_MS) * MINUTE_MS;
    if (before <= this.#prunedBefore) return;
    this.#prunedBefore = before;
    const sql = this.#sql();
    sql.exec("DELETE FROM counts WHERE minute < ?", before);
    sql.exec("DELETE FROM outcomes WHERE minute < ?", before);
    sql.exec("DELETE FROM last_seen WHERE at < ?", now - LAST_SEEN_RETENTION_MS);
  }
}
