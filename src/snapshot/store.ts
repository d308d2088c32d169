/**
 * The per-isolate snapshot cache. Serves the verified, compiled snapshot from memory; refreshes it
 * from KV in the background (never blocking a request that can be served); loads it once on a cold
 * start however many requests arrive together; keeps the last good snapshot through KV errors,
 * missing keys and snapshots that fail verification. I/O only through the injected `SnapshotSource`.
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
  /** Where failures are reported (structured). */
  log?: (event: Record<string, unknown>) => void;
}

export interface StoreFailure {
  code: string;
  message: string;
  at: string;
}

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
      return this.#current;
    }
    if (!this.#inflight && now - (this.#lastCheckAt ?? 0) >= this.options.refreshMs) {
      waitUntil(this.refresh());
    }
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

  async #load(): Promise<void> {
    const { source, key, cacheTtlSeconds } = this.options;
    const started = this.#now();
    try {
      const jws = await source.get(key, { type: "text", cacheTtl: cacheTtlSeconds });
      if (jws === null) throw new StoreMiss(`no snapshot at KV key ${key}`);
      // The same bytes as the snapshot in memory: nothing to verify again.
      if (this.#current && jws === this.#current.jws) {
        this.#lastError = undefined;
        return;
      }
      const verified = await verifySnapshot(jws, {
        keys: this.options.keys,
        environment: this.options.environment,
        minVersion: this.#current?.payload.version,
        now: this.#now(),
        maxBytes: this.options.maxBytes,
      });
      this.#current = verified;
      this.#loadedAt = this.#now();
      this.#lastError = undefined;
      this.options.log?.({
        event: "snapshot_loaded",
        version: verified.payload.version,
        environment: verified.payload.environment,
        ms: this.#loadedAt - started,
      });
    } catch (err) {
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
        code,
        message,
        servingVersion: this.#current?.payload.version ?? null,
      });
    } finally {
      this.#lastCheckAt = this.#now();
    }
  }
}

class StoreMiss extends Error {}
