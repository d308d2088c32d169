/**
 * Per-isolate wiring: settings, trusted keys, the snapshot store, the version-signal watcher and the
 * identity verifier, built once from the bindings and reused by every request. Only the store and the
 * watcher do I/O (KV reads, the beacon, the location's cache).
 */
import { gatewaySettings } from "../gateway/settings";
import { GuardView } from "../guard/view";
import { EvaluationCounter } from "../observe/counter";
import { TokenBuckets } from "../observe/rate-limit";
import { aggregatorSink, analyticsEngineSink } from "../observe/sinks";
import type { Aggregator, CountSink } from "../observe/types";
import { loadHasher } from "../policy/digest";
import { PolicyError } from "../policy/policy";
import type { LocationCache } from "../signal/coalesce";
import type { Beacon } from "../signal/types";
import { SignalWatcher } from "../signal/watcher";
import { kvKeys } from "../snapshot/format";
import { type KeyRing, loadKeyRing } from "../snapshot/keys";
import { type SnapshotSource, SnapshotStore } from "../snapshot/store";
import { StreamHub } from "../streams/hub";
import { type Config, readConfig } from "./config";
import type { Env } from "./env";
import { type IdentityVerifier, identityVerifier } from "./identity";
import { type SecretCheck, secretCheck } from "./request";

export interface Runtime {
  config: Config;
  /** Undefined when the worker is misconfigured (see `configError`). */
  store: SnapshotStore | undefined;
  keys: KeyRing | undefined;
  configError: string | undefined;
  /** Settings that were set but could not be used; logged once, shown by /healthz. */
  warnings: string[];
  verifyIdentity: IdentityVerifier;
  /** X-API-Key against SERVER_API_KEYS (server-only flags). */
  isServerKey: SecretCheck;
  /** A bearer token against PUBLISH_TOKEN (the intake). */
  isPublishToken: SecretCheck;
  /** A bearer token against STATS_TOKEN or PUBLISH_TOKEN (GET /v1/stats). */
  isStatsToken: SecretCheck;
  signal: SignalRuntime;
  counts: CountsRuntime;
  /** Per-visitor token buckets of POST /v1/events (this isolate's). */
  eventLimits: TokenBuckets;
  /** This isolate's event streams (GET /v1/events); undefined when turned off or there is no store. */
  streams: StreamHub | undefined;
  /** The guard state this isolate applies to the snapshot it serves (src/guard). */
  guards: GuardView;
  /** Where structured log lines go (logEvent unless the caller gave its own). */
  log: (event: Record<string, unknown>) => void;
}

/** Visitors whose event buckets an isolate keeps at most (about 100 bytes each: 1 MB in all). */
const EVENT_LIMIT_KEYS = 10_000;

/** Evaluation counts as this isolate keeps them (src/observe). */
export interface CountsRuntime {
  counter: EvaluationCounter | undefined;
  /** The environment's aggregator, when bound: what GET /v1/stats reads. */
  aggregator: (() => Aggregator) | undefined;
  /** Why counting is off (COUNTS=false, no binding), if it is. */
  off: string | undefined;
}

/** The version signal as this isolate has it: the watcher, and what the intake announces through. */
export interface SignalRuntime {
  watcher: SignalWatcher | undefined;
  beacon: Beacon | undefined;
  cache: LocationCache | undefined;
  /** Why the signal is off (no BEACON binding, SIGNAL_INTERVAL_SECONDS=0, no store), if it is. */
  off: string | undefined;
  now: () => number;
}

export interface RuntimeOptions {
  /** Wraps the KV binding (tests use it to simulate failures or lag). */
  source?: (env: Env) => SnapshotSource;
  /** Replaces the beacon stub (tests use it to make the signal fail or count calls). */
  beacon?: (env: Env) => Beacon | undefined;
  /** Replaces `caches.default`; null: no coalescing. */
  cache?: LocationCache | null;
  /** Uniform [0, 1) for the signal's jitter. */
  random?: () => number;
  now?: () => number;
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Structured log line (JSON), for Workers Logs / `wrangler tail`. An event's `level` (`info`, `warn`,
 * `error`) picks the console method, which is the level Workers Logs files it under.
 */
export function logEvent(event: Record<string, unknown>): void {
  const line = JSON.stringify(event);
  if (event.level === "error") console.error(line);
  else if (event.level === "warn") console.warn(line);
  else if (event.level === "info") console.info(line);
  else console.log(line);
}

/** The configuration error of a worker with a trust policy but without node:crypto. */
export const NO_HASHER =
  'EDGEFLAGS_POLICY needs node:crypto to check approvals: add compatibility_flags = ["nodejs_compat"] to wrangler.toml';

async function buildRuntime(env: Env, options: RuntimeOptions): Promise<Runtime> {
  const config = readConfig(env);
  const log = options.log ?? logEvent;
  // Unusable identity settings do not throw here: they are `config.identityError`, and the verifier
  // refuses every bearer token (see identity.ts).
  const verifyIdentity = identityVerifier(config);
  let configError: string | undefined;
  let keys: KeyRing | undefined;
  if (!config.publicKeys) {
    configError ??= "EDGEFLAGS_PUBLIC_KEYS is not set: no snapshot can be trusted";
  } else {
    try {
      keys = await loadKeyRing(config.publicKeys, config.policy);
    } catch (err) {
      const policy = (err as Error).cause instanceof PolicyError;
      configError ??= policy
        ? `EDGEFLAGS_POLICY: ${((err as Error).cause as PolicyError).problems.join("; ")}`
        : `EDGEFLAGS_PUBLIC_KEYS: ${(err as Error).message}`;
    }
    // A policy's approvals are digested with node:crypto, which workerd has only under nodejs_compat:
    // without it every snapshot needing approvals would fail to load, so say so once, here.
    if (keys?.policy) {
      try {
        await loadHasher();
      } catch {
        keys = undefined;
        configError ??= NO_HASHER;
      }
    }
  }
  if (configError) log({ event: "config_error", message: configError });
  const warnings = [...config.warnings, ...gatewaySettings(env).warnings];
  if (warnings.length > 0) log({ event: "config_warning", warnings });
  const source = options.source ? options.source(env) : env.FLAGS;
  const beacon = options.beacon ? options.beacon(env) : beaconStub(env, config.environment);
  const cache =
    options.cache === null
      ? undefined
      : (options.cache ?? (typeof caches === "undefined" ? undefined : caches.default));
  const canStore = keys !== undefined && env.FLAGS !== undefined;
  const off = !beacon
    ? "no BEACON binding"
    : config.signalIntervalMs === 0
      ? "SIGNAL_INTERVAL_SECONDS is 0"
      : !canStore
        ? "no snapshot store"
        : undefined;
  const streams =
    config.streams.maxPerIsolate > 0 && keys && env.FLAGS
      ? new StreamHub(
          {
            maxStreams: config.streams.maxPerIsolate,
            heartbeatMs: config.streams.heartbeatMs,
            maxLifetimeMs: config.streams.maxLifetimeMs,
          },
          options.now,
        )
      : undefined;
  const guards = new GuardView(log);
  // The store and the watcher need each other: the watcher hands the store the version floor and
  // newer snapshots; the store pokes the watcher on every request.
  let watcher: SignalWatcher | undefined;
  const store =
    keys && env.FLAGS
      ? new SnapshotStore({
          source,
          key: kvKeys.current(config.environment),
          environment: config.environment,
          keys,
          refreshMs: config.refreshMs,
          cacheTtlSeconds: config.kvCacheTtlSeconds,
          maxBytes: config.maxSnapshotBytes,
          floor: off
            ? undefined
            : {
                read: (timeoutMs, later) => (watcher as SignalWatcher).readFloor(timeoutMs, later),
                fetch: (floor) => (watcher as SignalWatcher).fetchFloor(floor),
              },
          floorOff: off,
          now: options.now,
          log,
          onServe: (waitUntil) => watcher?.poke(waitUntil),
          view: (snapshot) => guards.view(snapshot),
          onChange: (snapshot) => {
            watcher?.served(snapshot.payload.version);
            streams?.changed({
              version: snapshot.payload.version,
              issuedAt: Math.floor(Date.parse(snapshot.payload.issuedAt) / 1000) || 0,
              guards: guards.genFor(snapshot.payload.version),
            });
          },
        })
      : undefined;
  if (keys && !env.FLAGS) configError ??= "the FLAGS KV binding is missing";
  if (beacon && store && !off) {
    watcher = new SignalWatcher({
      beacon,
      cache,
      source,
      store,
      environment: config.environment,
      intervalMs: config.signalIntervalMs,
      // A version that failed is retried with the KV refresh cadence, not every signal interval.
      retryMs: Math.max(config.refreshMs, config.signalIntervalMs),
      now: options.now,
      random: options.random,
      log,
      location: config.signalLocation,
      onGuards: (signal) => {
        guards.update(signal);
        // A new guard state for the version served changes what it serves: open pages re-fetch.
        const served = streams?.served();
        if (served && served.version > 0) {
          streams?.changed({ ...served, guards: guards.genFor(served.version) });
        }
      },
      guardsGen: () => guards.status().gen,
    });
  }
  const signal = { watcher, beacon, cache, off, now: options.now ?? Date.now };
  const counts = countsRuntime(
    env,
    config,
    log,
    (options.now ?? Date.now)(),
    () => store?.peek()?.payload.version,
  );
  return {
    config,
    store,
    keys,
    configError,
    warnings,
    verifyIdentity,
    isServerKey: secretCheck(config.serverApiKeys),
    isPublishToken: secretCheck(config.publishToken ? [config.publishToken] : []),
    isStatsToken: secretCheck([config.statsToken, config.publishToken].filter((t) => t !== undefined)),
    signal,
    counts,
    eventLimits: new TokenBuckets({
      burst: config.events.burst,
      perMinute: config.events.perMinute,
      maxKeys: EVENT_LIMIT_KEYS,
    }),
    streams,
    guards,
    log,
  };
}

/**
 * The counter and its sinks. A missing binding is not an error: with neither EF_COUNTS nor
 * AGGREGATOR bound, counting is off and /healthz says why.
 */
function countsRuntime(
  env: Env,
  config: Config,
  log: (event: Record<string, unknown>) => void,
  now: number,
  version: () => number | undefined,
): CountsRuntime {
  const ns = env.AGGREGATOR;
  const aggregator = ns
    ? () => ns.get(ns.idFromName(config.environment)) as unknown as Aggregator
    : undefined;
  if (!config.counts.enabled) return { counter: undefined, aggregator, off: "COUNTS is false" };
  const sinks: CountSink[] = [];
  const { sample } = config.counts;
  // Sampling is per isolate, decided once: a sampled isolate writes all its counts, each weighted
  // 1/sample, so sums stay unbiased and an isolate's rows are never split.
  const sampled = sample >= 1 || Math.random() < sample;
  if (env.EF_COUNTS && sampled) sinks.push(analyticsEngineSink(env.EF_COUNTS, 1 / sample));
  if (aggregator) sinks.push(aggregatorSink(aggregator));
  if (sinks.length === 0) {
    const off = env.EF_COUNTS
      ? `this isolate is not in the COUNTS_SAMPLE=${sample} share that writes to Analytics Engine`
      : "no EF_COUNTS or AGGREGATOR binding";
    return { counter: undefined, aggregator, off };
  }
  const { flushMs, maxRows, country, countryLimit } = config.counts;
  const counter = new EvaluationCounter(
    { environment: config.environment, sinks, flushMs, maxRows, country, countryLimit, log, version },
    now,
  );
  return { counter, aggregator, off: undefined };
}

/**
 * The environment's beacon: one Durable Object per environment, named after it. A stub is an I/O
 * object bound to the request that made it, so each call gets a fresh one (cheap: no network).
 */
function beaconStub(env: Env, environment: string): Beacon | undefined {
  const ns = env.BEACON;
  if (!ns) return undefined;
  const stub = () => ns.get(ns.idFromName(environment)) as unknown as Beacon;
  return {
    read: (report) => stub().read(report),
    snapshot: (version) => stub().snapshot(version),
    announce: (e, version, jws) => stub().announce(e, version, jws),
    report: (report) => stub().report?.(report) ?? Promise.resolve(),
    locations: async (activeWithinMs) => {
      const view = await stub().locations?.(activeWithinMs);
      if (!view) throw new Error("the beacon keeps no location table");
      return view;
    },
  };
}

/** One runtime per bindings object, i.e. per isolate (tests get a fresh one per `env`). */
export function runtimeCache(options: RuntimeOptions = {}): (env: Env) => Promise<Runtime> {
  const cache = new WeakMap<object, Promise<Runtime>>();
  return (env) => {
    let rt = cache.get(env);
    if (!rt) {
      rt = buildRuntime(env, options);
      cache.set(env, rt);
    }
    return rt;
  };
}
