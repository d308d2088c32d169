/**
 * The per-isolate snapshot cache. Serves the verified, compiled snapshot from memory; refreshes it
 * from KV in the background (never blocking a request that can be served); loads it once on a cold
 * start however many requests arrive together; keeps the last good snapshot through KV errors,
 * missing keys and snapshots that fail verification. Nothing published yet is a normal state, not a
 * failure: it is logged once, at info level. I/O only through the injected `SnapshotSource`.
 */
import { SnapshotError } from "./errors";
import type { KeyRing } from "./keys";
import { type VerifiedSnapshot, verifySnapshot } from "./verify";

/** Where snapshots are read from. A KV namespace satisfies it by shape. */
export interface SnapshotSource {
  get(key: string, options: { type: "text"; cacheTtl?: number }): Promise<string | null>;
}

export interface StoreOptions {
  source: SnapshotSource;
  /** KV key of the live snapshot. */
  key: string;
  environment: string;
  keys: KeyRing;
  /** How long a loaded snapshot is served before a background re-check, in ms. */
  refreshMs: number;
  /** KV edge cache TTL for reads, in seconds (KV's minimum is 30). */
  cacheTtlSeconds?: number;
  maxBytes?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
  /**
   * Where loads and failures are reported (structured, with a `level`: `info` for a load and for
   * "nothing published yet", `warn` for a failed refresh).
   */
  log?: (event: Record<string, unknown>) => void;
  /** Called on every `get` with its `waitUntil` (the version signal's check hangs off it). */
  onServe?: (waitUntil: (p: Promise<unknown>) => void) => void;
}

export interface StoreFailure {
  code: string;
  message: string;
  at: string;
}

/** What `offer` made of a snapshot: now serving, already serving, or refused (and why). */
export type OfferOutcome =
  | { ok: true; version: number; changed: boolean }
  | { ok: false; failure: StoreFailure };

export interface StoreStatus {
  /** `fresh`: the last check succeeded; `last-known-good`: it failed and an older good one serves. */
  source: "fresh" | "last-known-good" | "none";
  loadedAt?: number;
  lastCheckAt?: number;
  lastError?: StoreFailure;
}

/** While nothing is loaded, a failing source is retried at most this often (ms). */
const COLD_RETRY_MS = 1000;

export class SnapshotStore {
  #current: VerifiedSnapshot | undefined;
  #loadedAt: number | undefined;
  #lastCheckAt: number | undefined;
  #lastError: StoreFailure | undefined;
  #inflight: Promise<void> | undefined;
  /** Whether "nothing published yet" was logged (once per isolate: a cold store re-reads every second). */
  #saidNothingYet = false;
  readonly #now: () => number;

  constructor(readonly options: StoreOptions) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * The snapshot to serve, or undefined if none was ever loaded. Waits only on a cold start; a warm
   * store schedules a background refresh through `waitUntil` when its copy is due a re-check.
   */
  async get(waitUntil: (p: Promise<unknown>) => void): Promise<VerifiedSnapshot | undefined> {
    const now = this.#now();
    if (this.#current === undefined) {
      if (this.#inflight) await this.#inflight;
      else if (this.#lastCheckAt === undefined || now - this.#lastCheckAt >= COLD_RETRY_MS)
        await this.refresh();
      this.options.onServe?.(waitUntil);
      return this.#current;
    }
    if (!this.#inflight && now - (this.#lastCheckAt ?? 0) >= this.options.refreshMs) {
      waitUntil(this.refresh());
    }
    this.options.onServe?.(waitUntil);
    return this.#current;
  }

  /** The snapshot in memory, without loading anything. */
  peek(): VerifiedSnapshot | undefined {
    return this.#current;
  }

  status(): StoreStatus {
    return {
      source: this.#current === undefined ? "none" : this.#lastError ? "last-known-good" : "fresh",
      loadedAt: this.#loadedAt,
      lastCheckAt: this.#lastCheckAt,
      lastError: this.#lastError,
    };
  }

  /** Re-reads the source once; concurrent callers share the same read (single flight). Never throws. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Installs a snapshot verified elsewhere (the intake), if it is newer than the one in memory. */
  install(snapshot: VerifiedSnapshot): void {
    if (this.#current && snapshot.payload.version < this.#current.payload.version) return;
    this.#current = snapshot;
    this.#loadedAt = this.#now();
    this.#lastCheckAt = this.#loadedAt;
    this.#lastError = undefined;
  }

  /**
   * Verifies a snapshot fetched by another path (the version signal) exactly as a KV read is verified
   * (same checks, same version floor, same error codes, same last-known-good), and serves it if newer.
   * Never throws.
   */
  async offer(jws: string, via: string): Promise<OfferOutcome> {
    const before = this.#current?.payload.version;
    const failure = await this.#accept(jws, via, this.#now());
    if (failure) return { ok: false, failure };
    const version = this.#current?.payload.version ?? 0;
    return { ok: true, version, changed: version !== before };
  }

  async #load(): Promise<void> {
    const { source, key, cacheTtlSeconds } = this.options;
    const started = this.#now();
    try {
      const jws = await source.get(key, { type: "text", cacheTtl: cacheTtlSeconds });
      if (jws === null && this.#current === undefined) return this.#nothingYet(key);
      // A key that disappears under a served snapshot is a real failure (someone deleted it).
      if (jws === null) throw new StoreMiss(`no snapshot at KV key ${key}`);
      await this.#accept(jws, "kv", started);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#lastCheckAt = this.#now();
    }
  }

  /** The one trust check for every path: verify against the served version, then serve. */
  async #accept(jws: string, via: string, started: number): Promise<StoreFailure | undefined> {
    // The same bytes as the snapshot in memory: nothing to verify again.
    if (this.#current && jws === this.#current.jws) {
      this.#lastError = undefined;
      return undefined;
    }
    try {
      const verified = await verifySnapshot(jws, {
        keys: this.options.keys,
        environment: this.options.environment,
        minVersion: this.#current?.payload.version,
        now: this.#now(),
        maxBytes: this.options.maxBytes,
      });
      // Two paths may verify at once (KV refresh and signal): the newer one wins whatever the order.
      if (this.#current && verified.payload.version < this.#current.payload.version) return undefined;
      this.#current = verified;
      this.#loadedAt = this.#now();
      this.#lastError = undefined;
      this.options.log?.({
        event: "snapshot_loaded",
        level: "info",
        version: verified.payload.version,
        environment: verified.payload.environment,
        via,
        ms: this.#loadedAt - started,
      });
      return undefined;
    } catch (err) {
      return this.#fail(err, via);
    }
  }

  /**
   * Nothing was ever published in this environment: /healthz still says `no_snapshot` (its
   * `lastError` names the key), but the log says it once, as information rather than a failure.
   */
  #nothingYet(key: string): void {
    this.#lastError = {
      code: "ERR_SNAPSHOT_MISSING",
      message: `no snapshot at KV key ${key}`,
      at: new Date(this.#now()).toISOString(),
    };
    if (this.#saidNothingYet) return;
    this.#saidNothingYet = true;
    this.options.log?.({
      event: "snapshot_not_published",
      level: "info",
      message: `no snapshot published yet (KV key ${key}): answering 503 no_snapshot until the first publish`,
    });
  }

  #fail(err: unknown, via = "kv"): StoreFailure {
    const code =
      err instanceof SnapshotError
        ? err.code
        : err instanceof StoreMiss
          ? "ERR_SNAPSHOT_MISSING"
          : "ERR_SNAPSHOT_SOURCE";
    const message = err instanceof Error ? err.message : String(err);
    this.#lastError = { code, message, at: new Date(this.#now()).toISOString() };
    this.options.log?.({
      event: "snapshot_refresh_failed",
      level: "warn",
      via,
      code,
      message,
      servingVersion: this.#current?.payload.version ?? null,
    });
    return this.#lastError;
  }
}

class StoreMiss extends Error {}
