/**
 * Per-isolate wiring: settings, trusted keys, the snapshot store and the identity verifier, built
 * once from the bindings and reused by every request. Only the store does I/O (KV reads).
 */
import { kvKeys } from "../snapshot/format";
import { type KeyRing, loadKeyRing } from "../snapshot/keys";
import { type SnapshotSource, SnapshotStore } from "../snapshot/store";
import { type Config, readConfig } from "./config";
import type { Env } from "./env";
import { type IdentityVerifier, identityVerifier } from "./identity";

export interface Runtime {
  config: Config;
  /** Undefined when the worker is misconfigured (see `configError`). */
  store: SnapshotStore | undefined;
  keys: KeyRing | undefined;
  configError: string | undefined;
  verifyIdentity: IdentityVerifier;
}

export interface RuntimeOptions {
  /** Wraps the KV binding (tests use it to simulate failures or lag). */
  source?: (env: Env) => SnapshotSource;
  now?: () => number;
  log?: (event: Record<string, unknown>) => void;
}

/** Structured log line (JSON), for Workers Logs / `wrangler tail`. */
export function logEvent(event: Record<string, unknown>): void {
  console.log(JSON.stringify(event));
}

async function buildRuntime(env: Env, options: RuntimeOptions): Promise<Runtime> {
  const config = readConfig(env);
  const log = options.log ?? logEvent;
  let verifyIdentity: IdentityVerifier = async () => undefined;
  let configError: string | undefined;
  try {
    verifyIdentity = identityVerifier(config);
  } catch (err) {
    configError = `identity settings are invalid: ${(err as Error).message}`;
  }
  let keys: KeyRing | undefined;
  if (!config.publicKeys) {
    configError ??= "EDGEFLAGS_PUBLIC_KEYS is not set: no snapshot can be trusted";
  } else {
    try {
      keys = await loadKeyRing(config.publicKeys);
    } catch (err) {
      configError ??= `EDGEFLAGS_PUBLIC_KEYS: ${(err as Error).message}`;
    }
  }
  if (configError) log({ event: "config_error", message: configError });
  const store =
    keys && env.FLAGS
      ? new SnapshotStore({
          source: options.source ? options.source(env) : env.FLAGS,
          key: kvKeys.current(config.environment),
          environment: config.environment,
          keys,
          refreshMs: config.refreshMs,
          cacheTtlSeconds: config.kvCacheTtlSeconds,
          maxBytes: config.maxSnapshotBytes,
          now: options.now,
          log,
        })
      : undefined;
  if (keys && !env.FLAGS) configError ??= "the FLAGS KV binding is missing";
  return { config, store, keys, configError, verifyIdentity };
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
