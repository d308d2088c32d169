/**
 * The per-isolate snapshot cache. Serves the verified, compiled snapshot from memory; refreshes it
 * from KV in the background (never blocking a request that can be served); loads it once on a cold
 * start however many requests arrive together; keeps the last good snapshot through KV errors,
 * missing keys and snapshots that fail verification. Nothing published yet is a normal state, not a
 * failure: it is logged once, at info level. I/O only through the injected `SnapshotSource` and
 * `FloorSource`.
 *
 * Two rules hold for every snapshot, however it arrives and whether the isolate is warm or cold:
 * - Nothing older than the version floor is accepted. The floor is the newer of the version served
 *   and the version announced where a KV writer cannot write (the beacon). A cold store asks for the
 *   announced version once, in parallel with its KV read, and when KV holds something older (or
 *   garbage) it loads the announced version itself. An older snapshot in KV is an alarm
 *   (ERR_SNAPSHOT_ROLLBACK, logged at error level) unless the announcement is recent enough for KV's
 *   propagation to explain it.
 * - Nothing past its `expiresAt` is served: a warm store stops serving at that instant (one number
 *   compare per request) exactly as a cold one refuses the snapshot, and then loads like a cold one.
 */

import { isMap } from "../flags/json-value";
import type { FlagsDocument } from "../flags/types";
import { type Sticky, stickyOf } from "../policy/check";
import { digestText } from "../policy/digest";
import * as base64url from "./base64url";
import { SnapshotError } from "./errors";
import type { KeyRing } from "./keys";
import { checkVersion, type VerifiedSnapshot, verifySnapshot } from "./verify";

/** Where snapshots are read from. A KV namespace satisfies it by shape. */
export interface SnapshotSource {
  get(key: string, options: { type: "text"; cacheTtl?: number }): Promise<string | null>;
}

/** The newest version announced where a KV writer cannot write (the version signal's beacon). */
export interface Floor {
  version: number;
  /** Epoch ms of the announcement (the announcer's clock). */
  announcedAt: number;
  /** Whether the announcer holds that version's JWS itself. */
  held: boolean;
  /** SHA-256 (base64url) of that version's JWS, when the announcer recorded it. */
  digest?: string;
}

/** Where the floor comes from. The version signal's watcher implements it. */
export interface FloorSource {
  /**
   * The floor, or null when nothing was announced yet. Throws (an error with a `code`) when
   * unavailable. Work that need not delay the answer (cache writes) may go to `later`.
   */
  read(timeoutMs: number, later?: (p: Promise<unknown>) => void): Promise<Floor | null>;
  /** The floor version's JWS, unverified (the announcer's copy first). Throws when it cannot be had. */
  fetch(floor: Floor): Promise<{ jws: string; from: string }>;
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
  /** The version floor; undefined: none is known (KV-only), and `floorOff` says why. */
  floor?: FloorSource;
  floorOff?: string;
  /** Longest a cold load waits for the floor before going on without it, ms. Default 1000. */
  floorTimeoutMs?: number;
  /**
   * How long after an announcement KV may still return an older live snapshot before that counts as
   * a rollback rather than KV's propagation, ms. Default 60 s (KV's documented propagation) plus
   * the KV cache TTL.
   */
  kvLagMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
  /**
   * Where loads and failures are reported (structured, with a `level`: `info` for a load and for
   * "nothing published yet", `warn` for a failed refresh, `error` for a refused rollback).
   */
  log?: (event: Record<string, unknown>) => void;
  /** Called on every `get` with its `waitUntil` (the version signal's check hangs off it). */
  onServe?: (waitUntil: (p: Promise<unknown>) => void) => void;
  /**
   * Called when another version starts serving, whatever brought it (KV, the signal, the intake):
   * event streams tell open pages. Must not throw.
   */
  onChange?: (snapshot: VerifiedSnapshot) => void;
  /**
   * What `get` hands out for the verified snapshot (the guard view, src/guard/view.ts): the snapshot
   * itself or a copy with another compiled form. Called per request: it must be a cached lookup.
   */
  view?: (snapshot: VerifiedSnapshot) => VerifiedSnapshot;
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

/** The floor as /healthz shows it. `version` null: no floor known (see `reason` or `error`). */
export interface FloorStatus {
  version: number | null;
  announcedAt?: number;
  /** When the floor was last read (by a cold load or a signal check). */
  checkedAt?: number;
  /** Why there is no floor at all (no beacon). */
  reason?: string;
  /** Why the last read failed. */
  error?: { code: string; message: string };
}

export interface StoreStatus {
  /** `fresh`: the last check succeeded; `last-known-good`: it failed and an older good one serves. */
  source: "fresh" | "last-known-good" | "none";
  loadedAt?: number;
  lastCheckAt?: number;
  lastError?: StoreFailure;
  floor: FloorStatus;
}

/** While nothing is loaded, a failing source is retried at most this often (ms). */
const COLD_RETRY_MS = 1000;
/** How long a cold load waits for the floor by default (ms); see `floorTimeoutMs`. */
const FLOOR_TIMEOUT_MS = 1000;
/** KV's documented propagation time (ms); see `kvLagMs`. */
const KV_PROPAGATION_MS = 60_000;

export class SnapshotStore {
  #current: VerifiedSnapshot | undefined;
  /** `#current`'s expiry in epoch ms (Infinity without one): the per-request check is one compare. */
  #expiresAt = Number.POSITIVE_INFINITY;
  #loadedAt: number | undefined;
  #lastCheckAt: number | undefined;
  #lastError: StoreFailure | undefined;
  #inflight: Promise<void> | undefined;
  #floor: Floor | undefined;
  #floorCheckedAt: number | undefined;
  #floorError: { code: string; message: string } | undefined;
  /** The announced version's flag classes, once fetched (see `stickyFor`). */
  #floorClasses: { digest: string; classes: Sticky } | undefined;
  /** Whether "nothing published yet" was logged (once per isolate: a cold store re-reads every second). */
  #saidNothingYet = false;
  readonly #now: () => number;
  readonly #kvLagMs: number;

  constructor(readonly options: StoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#kvLagMs = options.kvLagMs ?? KV_PROPAGATION_MS + (options.cacheTtlSeconds ?? 30) * 1000;
  }

  /**
   * The snapshot to serve, or undefined if none is loaded or the one loaded has expired. Waits only
   * when there is nothing to serve (a cold start, or past `expiresAt`); otherwise schedules a
   * background refresh through `waitUntil` when its copy is due a re-check.
   */
  async get(waitUntil: (p: Promise<unknown>) => void): Promise<VerifiedSnapshot | undefined> {
    const now = this.#now();
    if (this.#current === undefined || now >= this.#expiresAt) {
      if (this.#inflight) await this.#inflight;
      else if (this.#lastCheckAt === undefined || now - this.#lastCheckAt >= COLD_RETRY_MS)
        await this.refresh(waitUntil);
      this.options.onServe?.(waitUntil);
      const servable = this.#servable(this.#now());
      return servable && this.options.view ? this.options.view(servable) : servable;
    }
    if (!this.#inflight && now - (this.#lastCheckAt ?? 0) >= this.options.refreshMs) {
      waitUntil(this.refresh());
    }
    this.options.onServe?.(waitUntil);
    return this.options.view ? this.options.view(this.#current) : this.#current;
  }

  /**
   * The snapshot in memory, without loading anything, even past its expiry: its version still counts
   * as the floor (for the intake and the signal), although `get` no longer serves it.
   */
  peek(): VerifiedSnapshot | undefined {
    return this.#current;
  }

  status(): StoreStatus {
    const serving = this.#servable(this.#now());
    return {
      source: serving === undefined ? "none" : this.#lastError ? "last-known-good" : "fresh",
      loadedAt: this.#loadedAt,
      lastCheckAt: this.#lastCheckAt,
      lastError: this.#lastError,
      floor: {
        version: this.#floor?.version ?? null,
        announcedAt: this.#floor?.announcedAt,
        checkedAt: this.#floorCheckedAt,
        ...(this.options.floor ? {} : { reason: this.options.floorOff ?? "no version signal" }),
        ...(this.#floorError ? { error: this.#floorError } : {}),
      },
    };
  }

  /**
   * Re-reads the source once; concurrent callers share the same read (single flight). Never throws.
   * With `later` (the request's waitUntil), a cold load's cache writes go there instead of delaying it.
   */
  refresh(later?: (p: Promise<unknown>) => void): Promise<void> {
    this.#inflight ??= this.#load(later).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /**
   * Installs a snapshot verified elsewhere (the intake), unless it is older than the one in memory
   * or the floor. Returns whether it now serves.
   */
  install(snapshot: VerifiedSnapshot): boolean {
    if (snapshot.payload.version < this.#minVersion()) return false;
    this.#serve(snapshot);
    this.#lastCheckAt = this.#loadedAt;
    this.#lastError = undefined;
    return true;
  }

  /**
   * Verifies a snapshot fetched by another path (the version signal) exactly as a KV read is verified
   * (same checks, same floor, same error codes, same last-known-good), and serves it if newer.
   * Never throws.
   */
  async offer(jws: string, via: string): Promise<OfferOutcome> {
    const before = this.#current?.payload.version;
    try {
      await this.#take(jws, via, this.#now());
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = this.#fail(err, via);
      return { ok: false, failure: this.#lastError };
    }
    const version = this.#current?.payload.version ?? 0;
    return { ok: true, version, changed: version !== before };
  }

  /** Records the announced version (the signal's checks and cold loads). The floor only rises. */
  learnFloor(floor: Floor | null): void {
    this.#floorCheckedAt = this.#now();
    this.#floorError = undefined;
    if (floor && (this.#floor === undefined || floor.version > this.#floor.version)) this.#floor = floor;
  }

  /** Records that the announced version could not be read; a floor already known stays. */
  floorUnavailable(err: unknown): void {
    this.#floorCheckedAt = this.#now();
    this.#floorError = { code: codeOf(err, "ERR_SIGNAL_UNAVAILABLE"), message: messageOf(err) };
  }

  /**
   * The classes a snapshot other than the served one is checked against under a trust policy
   * (src/policy/check.ts): those of the served snapshot, else, cold, those of the announced version,
   * whose bytes the beacon vouches for by digest (a KV writer cannot change them). Undefined without
   * a policy, and when neither is known (no beacon, or it could not be read: the same degraded cold
   * load as without a floor). Throws when the announced version's bytes cannot be had or do not match
   * its digest: approvals are then not checked against a guess.
   */
  async stickyFor(jws: string): Promise<Sticky | undefined> {
    if (!this.options.keys.policy) return undefined;
    const current = this.#current;
    if (current) return classesOf(current.payload.flags);
    const floor = this.#floor;
    const source = this.options.floor;
    if (!floor?.digest || !source) return undefined;
    if (this.#floorClasses?.digest === floor.digest) return this.#floorClasses.classes;
    if ((await digestText(jws)) === floor.digest) return undefined;
    let announced: string;
    try {
      announced = (await source.fetch(floor)).jws;
    } catch (cause) {
      throw new SnapshotError(
        "ERR_SNAPSHOT_POLICY",
        `cannot check approvals: the announced version ${floor.version} could not be read (${messageOf(cause)})`,
        { cause },
      );
    }
    if ((await digestText(announced)) !== floor.digest) {
      throw new SnapshotError(
        "ERR_SNAPSHOT_POLICY",
        `cannot check approvals: the copy of announced version ${floor.version} does not match the beacon's digest`,
      );
    }
    const classes = classesOf(payloadFlags(announced));
    this.#floorClasses = { digest: floor.digest, classes };
    return classes;
  }

  #servable(now: number): VerifiedSnapshot | undefined {
    return now < this.#expiresAt ? this.#current : undefined;
  }

  /** Nothing older than this may be accepted: the served version or the announced one. */
  #minVersion(): number {
    return Math.max(this.#current?.payload.version ?? 0, this.#floor?.version ?? 0);
  }

  async #load(later?: (p: Promise<unknown>) => void): Promise<void> {
    const { source, key, cacheTtlSeconds } = this.options;
    const started = this.#now();
    // With nothing to serve, nothing below the floor may serve either: learn it alongside the KV
    // read, so a cold start waits for the slower of the two, not for both in turn.
    const cold = this.#servable(started) === undefined;
    const kv: Promise<{ jws: string | null } | { err: unknown }> = Promise.resolve()
      .then(() => source.get(key, { type: "text", cacheTtl: cacheTtlSeconds }))
      .then(
        (jws) => ({ jws }),
        (err: unknown) => ({ err }),
      );
    // Cold, the KV copy's signature, shape and compile are checked while the floor is still being
    // read (on the edge, a round trip to the beacon): only its version waits for the floor. Under a
    // trust policy the check needs the announced version's classes (`stickyFor`), so it waits whole.
    const early =
      cold && this.options.floor && !this.options.keys.policy
        ? kv.then((r) => ("jws" in r && r.jws !== null ? settle(this.#verify(r.jws, 0)) : undefined))
        : undefined;
    const [read] = await Promise.all([kv, cold ? this.#readFloor(later) : undefined]);
    let failure: StoreFailure | undefined;
    try {
      if ("err" in read) throw read.err;
      if (read.jws === null && this.#current === undefined && this.#floor === undefined) {
        failure = this.#nothingYet(key);
      } else if (read.jws === null) {
        // A key that disappears under a served or announced snapshot is a real failure (someone deleted it).
        throw new StoreMiss(`no snapshot at KV key ${key}`);
      } else {
        await this.#take(read.jws, "kv", started, await early, later);
      }
    } catch (err) {
      failure = this.#behindKv(err) && this.#kvMayLag() ? undefined : this.#fail(err, "kv");
    }
    // Cold, and KV had nothing at or above the floor: the announced version itself.
    if (cold) {
      const reached = await this.#reachFloor(started, later);
      failure ??= reached;
    }
    this.#lastError = failure;
    this.#lastCheckAt = this.#now();
  }

  /** The floor for a cold load. Never throws: without one, the load goes on as KV-only. */
  async #readFloor(later?: (p: Promise<unknown>) => void): Promise<void> {
    const floor = this.options.floor;
    if (!floor) return;
    try {
      this.learnFloor(await floor.read(this.options.floorTimeoutMs ?? FLOOR_TIMEOUT_MS, later));
    } catch (err) {
      this.floorUnavailable(err);
      this.options.log?.({
        event: "snapshot_floor_unknown",
        level: "warn",
        code: this.#floorError?.code,
        message: `cold load without a version floor: ${this.#floorError?.message}`,
      });
    }
  }

  /** Loads the floor version when nothing at or above it is in memory. Returns what failed, if anything. */
  async #reachFloor(
    started: number,
    later?: (p: Promise<unknown>) => void,
  ): Promise<StoreFailure | undefined> {
    const floor = this.#floor;
    const source = this.options.floor;
    if (!floor || !source || (this.#current?.payload.version ?? 0) >= floor.version) return undefined;
    try {
      const { jws, from } = await source.fetch(floor);
      await this.#take(jws, `floor:${from}`, started, undefined, later);
      return undefined;
    } catch (err) {
      return this.#fail(err, "floor");
    }
  }

  /**
   * The one trust check for every path: verify against the floor, then serve if newer. Throws what
   * refuses the snapshot.
   */
  async #take(
    jws: string,
    via: string,
    started: number,
    early?: Settled<VerifiedSnapshot>,
    later?: (p: Promise<unknown>) => void,
  ): Promise<void> {
    const now = this.#now();
    const current = this.#current;
    // The same bytes as the snapshot in memory: no signature to check again, but the same rules.
    if (current && jws === current.jws) {
      if (now >= this.#expiresAt) {
        throw new SnapshotError("ERR_SNAPSHOT_EXPIRED", `snapshot expired at ${current.payload.expiresAt}`);
      }
      const floor = this.#floor?.version ?? 0;
      if (current.payload.version < floor) {
        throw new SnapshotError(
          "ERR_SNAPSHOT_ROLLBACK",
          `snapshot version ${current.payload.version} is older than the announced version ${floor}`,
        );
      }
      return;
    }
    const minVersion = this.#minVersion();
    let verified: VerifiedSnapshot;
    if (early) {
      // Verified without a floor while the floor was read: the same checks, the version rule now.
      if ("error" in early) throw early.error;
      verified = early.value;
      if (minVersion > 0) checkVersion(verified.payload.version, minVersion);
    } else {
      verified = await this.#verify(jws, minVersion, now);
    }
    // Two paths may verify at once (KV refresh and signal): the newer one wins whatever the order.
    if (this.#current && verified.payload.version < this.#current.payload.version) return;
    this.#serve(verified);
    this.#logLater(
      {
        event: "snapshot_loaded",
        level: "info",
        version: verified.payload.version,
        environment: verified.payload.environment,
        via,
        ms: (this.#loadedAt as number) - started,
        // First answers come from the definitions; the compile runs after them (src/eval/first.ts).
        ...(verified.first !== undefined ? { compile: "deferred" } : {}),
      },
      later,
    );
  }

  /**
   * Writes a load's line at once or, for a load a request waits on (`later`: its waitUntil), at the
   * next timer tick, off that request's path: a fresh isolate's first console write costs workerd
   * 4-5 ms, which its first answer need not wait for.
   */
  #logLater(line: Record<string, unknown>, later?: (p: Promise<unknown>) => void): void {
    const log = this.options.log;
    if (!log) return;
    if (!later) {
      log(line);
      return;
    }
    later(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          try {
            log(line);
          } finally {
            resolve();
          }
        }, 0),
      ),
    );
  }

  /** `verifySnapshot` with this store's keys, environment and limits, above `minVersion` (0: none). */
  async #verify(jws: string, minVersion: number, now = this.#now()): Promise<VerifiedSnapshot> {
    return verifySnapshot(jws, {
      keys: this.options.keys,
      environment: this.options.environment,
      minVersion: minVersion > 0 ? minVersion : undefined,
      now,
      maxBytes: this.options.maxBytes,
      sticky: await this.stickyFor(jws),
      // Nothing served yet: a request is waiting, and its answer need not wait for the compile.
      deferCompile: this.#current === undefined,
    });
  }

  #serve(snapshot: VerifiedSnapshot): void {
    const before = this.#current?.payload.version;
    this.#current = snapshot;
    const expiry = snapshot.payload.expiresAt;
    this.#expiresAt = expiry === undefined ? Number.POSITIVE_INFINITY : Date.parse(expiry);
    this.#loadedAt = this.#now();
    if (snapshot.payload.version !== before) this.options.onChange?.(snapshot);
  }

  /** Whether a KV read was refused for being older than the floor (or missing below an announced version). */
  #behindKv(err: unknown): boolean {
    if (err instanceof StoreMiss) return this.#floor !== undefined;
    return err instanceof SnapshotError && err.code === "ERR_SNAPSHOT_ROLLBACK";
  }

  /**
   * Whether KV's propagation explains an older live snapshot: the announced version is the newest we
   * know of and was announced within KV's lag. Past that, it is a rollback.
   */
  #kvMayLag(): boolean {
    const floor = this.#floor;
    if (!floor || floor.version < (this.#current?.payload.version ?? 0)) return false;
    return this.#now() - floor.announcedAt < this.#kvLagMs;
  }

  /**
   * Nothing was ever published in this environment: /healthz still says `no_snapshot` (its
   * `lastError` names the key), but the log says it once, as information rather than a failure.
   */
  #nothingYet(key: string): StoreFailure {
    const failure = {
      code: "ERR_SNAPSHOT_MISSING",
      message: `no snapshot at KV key ${key}`,
      at: new Date(this.#now()).toISOString(),
    };
    if (this.#saidNothingYet) return failure;
    this.#saidNothingYet = true;
    this.options.log?.({
      event: "snapshot_not_published",
      level: "info",
      message: `no snapshot published yet (KV key ${key}): answering 503 no_snapshot until the first publish`,
    });
    return failure;
  }

  /** Logs a refusal and returns it as a failure; a rollback is an alarm, logged at error level. */
  #fail(err: unknown, via: string): StoreFailure {
    const code =
      err instanceof SnapshotError
        ? err.code
        : err instanceof StoreMiss
          ? "ERR_SNAPSHOT_MISSING"
          : codeOf(err, "ERR_SNAPSHOT_SOURCE");
    const message = messageOf(err);
    const rollback = code === "ERR_SNAPSHOT_ROLLBACK";
    this.options.log?.({
      event: rollback ? "snapshot_rollback_refused" : "snapshot_refresh_failed",
      level: rollback ? "error" : "warn",
      via,
      code,
      message,
      servingVersion: this.#servable(this.#now())?.payload.version ?? null,
      ...(rollback ? { floorVersion: this.#floor?.version ?? null } : {}),
    });
    return { code, message, at: new Date(this.#now()).toISOString() };
  }
}

class StoreMiss extends Error {}

type Settled<T> = { value: T } | { error: unknown };

/** A promise's outcome as a value, so it can wait while another read finishes without going unhandled. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

const classCache = new WeakMap<object, Sticky>();

/** Each flag's class (src/policy/policy.ts `classOf`) and each gate's flag, once per document. */
function classesOf(doc: Pick<FlagsDocument, "flags" | "gates">): Sticky {
  let classes = classCache.get(doc);
  if (!classes) {
    classes = stickyOf(doc);
    classCache.set(doc, classes);
  }
  return classes;
}

/**
 * The flags document inside a JWS whose bytes are already trusted (by the beacon's digest): decoded,
 * not verified again. Throws a SnapshotError when it is not one.
 */
function payloadFlags(jws: string): Pick<FlagsDocument, "flags" | "gates"> {
  try {
    const bytes = base64url.decode(jws.split(".")[1] ?? "");
    // Bytes that verified when they were announced: a flags document of the checked shape.
    const doc = (JSON.parse(new TextDecoder().decode(bytes)) as { flags?: FlagsDocument }).flags;
    if (isMap(doc?.flags)) return doc as FlagsDocument;
  } catch {}
  throw new SnapshotError(
    "ERR_SNAPSHOT_POLICY",
    "cannot check approvals: the announced version is not a snapshot",
  );
}

/** A stable code carried by an error from another layer (the signal's failures have one). */
function codeOf(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_") ? code : fallback;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
