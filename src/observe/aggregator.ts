/**
 * The counts aggregator: one Durable Object per environment (SQLite-backed, like the beacon) keeping
 * rolling per-minute windows of the counts isolates flush to it, for 24 hours, and when each flag was
 * last evaluated. It serves `npm start`, the tests and the stats endpoint; guards will read it too.
 * Flushes are added up in memory and a minute is written to SQLite once, when it is over (an alarm,
 * the next minute's first flush, or a read): rows written follow distinct rows per minute, not
 * flushes, which is what SQLite storage bills. A restart (a deploy) loses at most the open minute.
 * It is also where guards are judged (src/guard/board.ts): every count meets here. A trip goes out
 * through the version beacon and to the webhook (retried from the alarm).
 * I/O: Durable Object storage, the beacon, KV (to arm a version's guards), the webhook.
 */
import { DurableObject } from "cloudflare:workers";
import { parseInstant } from "../eval/schedule";
import type { FlagDefinition } from "../flags/types";
import { stepsFingerprint } from "../guard/apply";
import { type BoardState, emptyState, GuardBoard } from "../guard/board";
import { type ArmedGuard, armGuard } from "../guard/judge";
import { verifyGuardReset } from "../guard/reset";
import type { GuardSignal, GuardsAnswer, ResetRefusal, TripRecord } from "../guard/types";
import {
  backoffMs,
  type OutboxItem,
  tripMessage,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_SECRET_HEADER,
} from "../guard/webhook";
import { readConfig } from "../http/config";
import type { Env } from "../http/env";
import type { Beacon } from "../signal/types";
import { kvKeys } from "../snapshot/format";
import { type KeyRing, loadKeyRing } from "../snapshot/keys";
import { verifySnapshot } from "../snapshot/verify";
import {
  type Aggregator,
  type CountBatch,
  type CountRow,
  type FlagStats,
  type GuardJudge,
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

const GUARD_STATE_KEY = "guard-state";
const OUTBOX_KEY = "guard-outbox";
/** A failed push of the guard state to the beacon is tried again this much later. */
const PUSH_RETRY_MS = 2000;

/** The Durable Object class bound as AGGREGATOR (see wrangler.toml); called over JS RPC. */
export class CountsAggregator extends DurableObject implements Aggregator, GuardJudge {
  #ready = false;
  /** The oldest minute kept, as of the last prune (pruning runs at most once a minute). */
  #prunedBefore = 0;
  /** Counts not yet written, by minute, then by row (flag, variant, reason, country). */
  #open = new Map<number, Map<string, CountRow>>();
  /** Outcome counts not yet written, by minute, then by row (flag, variant, event). */
  #openOutcomes = new Map<number, Map<string, OutcomeRow>>();
  /** Last-evaluated times not yet written. */
  #seen = new Map<string, number>();
  /** Guards (src/guard): the board, loaded on first use, and what arms it. */
  #board: GuardBoard | undefined;
  #armedDoc: { version: number; flags: Record<string, FlagDefinition> } | undefined;
  #arming: Promise<void> | undefined;
  #keys: Promise<KeyRing> | undefined;
  #outbox: OutboxItem[] | undefined;
  #pushPending = false;
  #delivered = 0;

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
      await this.#wake(minute + MINUTE_MS + ALARM_SLACK_MS);
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
    await this.#judge(batch);
  }

  /** Sets the alarm for `at` unless it is already due sooner (one alarm serves every duty). */
  async #wake(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  /** Writes the minutes that are over, delivers due webhooks, retries a failed push of the guard state. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.#persist(Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
    const board = await this.#loadBoard();
    if (this.#pushPending) await this.#push(board);
    await this.#deliver(now);
    const next: number[] = [];
    if (this.#open.size > 0 || this.#openOutcomes.size > 0) {
      const minute =
        Math.min(...this.#open.keys(), ...this.#openOutcomes.keys()) + MINUTE_MS + ALARM_SLACK_MS;
      next.push(Math.max(minute, Date.now() + ALARM_SLACK_MS));
    }
    for (const item of this.#outbox ?? []) next.push(item.nextAt);
    if (this.#pushPending) next.push(Date.now() + PUSH_RETRY_MS);
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.max(Math.min(...next), Date.now() + 100));
  }

  async #loadBoard(): Promise<GuardBoard> {
    if (!this.#board) {
      const state = (await this.ctx.storage.get<BoardState>(GUARD_STATE_KEY)) ?? emptyState("");
      this.#outbox ??= (await this.ctx.storage.get<OutboxItem[]>(OUTBOX_KEY)) ?? [];
      this.#board ??= new GuardBoard(state);
    }
    return this.#board;
  }

  #beacon(environment: string): Beacon | undefined {
    const ns = (this.env as Env).BEACON;
    return ns ? (ns.get(ns.idFromName(environment)) as unknown as Beacon) : undefined;
  }

  /**
   * Arms the guards of `version` from its snapshot, verified here with the worker's own keys (the
   * beacon's copy first, else KV's versioned key). A version that cannot be read or verified arms
   * nothing: its counts are not judged.
   */
  async #arm(board: GuardBoard, environment: string, version: number): Promise<void> {
    const env = this.env as Env;
    const config = readConfig(env);
    try {
      if (!config.publicKeys) throw new Error("EDGEFLAGS_PUBLIC_KEYS is not set");
      this.#keys ??= loadKeyRing(config.publicKeys, config.policy);
      const keys = await this.#keys;
      let jws =
        (await this.#beacon(environment)
          ?.snapshot(version)
          .catch(() => null)) ?? null;
      jws ??= (await env.FLAGS?.get(kvKeys.version(environment, version), { type: "text" })) ?? null;
      if (jws === null) throw new Error(`version ${version} is not readable`);
      const verified = await verifySnapshot(jws, {
        keys,
        environment,
        now: Date.now(),
        maxBytes: config.maxSnapshotBytes,
      });
      if (verified.payload.version !== version) throw new Error("another version under that key");
      const doc = verified.payload.flags;
      const guards: ArmedGuard[] = [];
      for (const [key, flag] of Object.entries(doc.flags)) {
        const f = flag.fallthrough;
        const steps =
          typeof f === "object" && f.steps
            ? f.steps.map((st) => parseInstant(st.at, "steps")).sort((a, b) => a - b)
            : [];
        const g = armGuard(key, flag, steps, stepsFingerprint(doc, key));
        if (g) guards.push(g);
      }
      if (board.state.environment === "") board.state.environment = environment;
      this.#armedDoc = { version, flags: doc.flags };
      if (board.arm(version, guards)) await this.#save(board, []);
    } catch (err) {
      console.warn(JSON.stringify({ event: "guard_arm_failed", level: "warn", version, error: String(err) }));
    }
  }

  /** Feeds a flush to the guards and acts on what changed. */
  async #judge(batch: CountBatch): Promise<void> {
    const version = batch.version;
    if (version === undefined || !Number.isSafeInteger(version)) return;
    const board = await this.#loadBoard();
    if (board.state.environment !== "" && board.state.environment !== batch.environment) return;
    if (version > board.version || (version === board.version && this.#armedDoc?.version !== version)) {
      this.#arming ??= this.#arm(board, batch.environment, version).finally(() => {
        this.#arming = undefined;
      });
      await this.#arming;
    }
    if (board.guards.size === 0) return;
    board.add(batch);
    const { changed, tripped } = board.evaluate(batch.to);
    if (changed) await this.#save(board, tripped);
  }

  /** Persists the board, records new trips' reach, queues their webhooks and tells the beacon. */
  async #save(board: GuardBoard, tripped: TripRecord[]): Promise<void> {
    const environment = board.state.environment;
    if (tripped.length > 0) {
      const view = await this.#beacon(environment)
        ?.locations?.(600_000)
        .catch(() => undefined);
      for (const t of tripped) {
        if (view) t.locations = view.locations.length;
        console.warn(JSON.stringify({ event: "guard_tripped", level: "warn", version: board.version, ...t }));
      }
      const env = this.env as Env;
      if (env.GUARD_WEBHOOK_URL) {
        const outbox = this.#outbox ?? [];
        for (const t of tripped) {
          outbox.push({
            id: `${environment}:${board.version}:${t.flag}:${t.at}`,
            body: tripMessage(environment, board.version, t),
            attempts: 0,
            nextAt: Date.now(),
          });
        }
        this.#outbox = outbox;
        await this.ctx.storage.put(OUTBOX_KEY, outbox);
        await this.#wake(Date.now());
      }
    }
    await this.ctx.storage.put(GUARD_STATE_KEY, board.state);
    await this.#push(board);
  }

  /** Hands the guard state to the beacon; a failure is retried from the alarm. */
  async #push(board: GuardBoard): Promise<void> {
    const beacon = this.#beacon(board.state.environment);
    if (!beacon?.setGuards) return;
    try {
      await beacon.setGuards(board.signal());
      this.#pushPending = false;
    } catch (err) {
      this.#pushPending = true;
      console.warn(JSON.stringify({ event: "guard_push_failed", level: "warn", error: String(err) }));
      await this.#wake(Date.now() + PUSH_RETRY_MS);
    }
  }

  /**
   * Sends the webhooks that are due. A 2xx answer removes the message (it is not sent again); any
   * other answer or a network error schedules the next attempt with backoff, up to the limit.
   */
  async #deliver(now: number): Promise<void> {
    const outbox = this.#outbox;
    const env = this.env as Env;
    if (!outbox || outbox.length === 0) return;
    const url = env.GUARD_WEBHOOK_URL;
    if (!url) return;
    const keep: OutboxItem[] = [];
    for (const item of outbox) {
      if (item.nextAt > now) {
        keep.push(item);
        continue;
      }
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(env.GUARD_WEBHOOK_SECRET ? { [WEBHOOK_SECRET_HEADER]: env.GUARD_WEBHOOK_SECRET } : {}),
          },
          body: item.body,
        });
        await res.body?.cancel();
        if (res.ok) {
          this.#delivered++;
          continue;
        }
        item.lastError = `HTTP ${res.status}`;
      } catch (err) {
        item.lastError = String(err);
      }
      item.attempts++;
      if (item.attempts >= WEBHOOK_MAX_ATTEMPTS) {
        console.error(
          JSON.stringify({
            event: "guard_webhook_failed",
            level: "error",
            id: item.id,
            error: item.lastError,
          }),
        );
        continue;
      }
      item.nextAt = now + backoffMs(item.attempts);
      keep.push(item);
    }
    this.#outbox = keep;
    await this.ctx.storage.put(OUTBOX_KEY, keep);
  }

  /** The guard board of the environment (GET /v1/guards, `edgeflags status` and `history`). */
  async guards(query: { environment: string; now: number }): Promise<GuardsAnswer> {
    const board = await this.#loadBoard();
    if (board.version > 0 && this.#armedDoc?.version !== board.version)
      await this.#arm(board, board.state.environment || query.environment, board.version);
    const outbox = this.#outbox ?? [];
    return {
      environment: board.state.environment || query.environment,
      version: board.version,
      gen: board.state.gen,
      trips: board.state.trips,
      history: board.state.history,
      guards: board.report(query.now),
      webhook: {
        configured: Boolean((this.env as Env).GUARD_WEBHOOK_URL),
        pending: outbox.length,
        lastError: outbox.find((o) => o.lastError)?.lastError ?? null,
        delivered: this.#delivered,
      },
    };
  }

  /**
   * A signed guard reset (src/guard/reset.ts), verified here with the worker's keys and policy
   * against the armed version's signed definitions, then applied once.
   */
  async resetGuard(
    token: string,
    now: number,
  ): Promise<{ ok: true; signal: GuardSignal } | { ok: false; problem: ResetRefusal }> {
    const board = await this.#loadBoard();
    if (board.version > 0 && this.#armedDoc?.version !== board.version)
      await this.#arm(board, board.state.environment, board.version);
    const armed = this.#armedDoc;
    const config = readConfig(this.env as Env);
    if (!armed || !config.publicKeys) return { ok: false, problem: "unarmed" };
    this.#keys ??= loadKeyRing(config.publicKeys, config.policy);
    const check = await verifyGuardReset(token, {
      keys: await this.#keys,
      environment: board.state.environment,
      version: armed.version,
      flags: armed.flags,
      now,
    });
    if (!check.ok) return check;
    if (!board.reset(check.reset.flag, check.reset.iat)) return { ok: false, problem: "used" };
    console.warn(
      JSON.stringify({
        event: "guard_reset",
        level: "warn",
        flag: check.reset.flag,
        kid: check.kid,
        version: armed.version,
      }),
    );
    await this.#save(board, []);
    return { ok: true, signal: board.signal() };
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
      // When counting began: before it, "never evaluated" means nothing (the stale report asks).
      let first = Number.POSITIVE_INFINITY;
      for (const at of this.#seen.values()) if (at < first) first = at;
      if (first !== Number.POSITIVE_INFINITY) {
        sql.exec("INSERT OR IGNORE INTO meta (name, value) VALUES ('counting_since', ?)", first);
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
