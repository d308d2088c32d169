/**
 * The publisher's settings, resolved once per command: CLI options > environment variables >
 * `.edgeflags/config.json` > defaults. I/O: reads the config file (found by walking up from cwd).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { LintOptions } from "./lint";
import { CliError, EXIT } from "./output";

export const TARGETS = ["worker", "kv-api", "local"] as const;
export type TargetName = (typeof TARGETS)[number];

/** The config file `npm start` writes; every field is optional. Paths are relative to the file. */
export interface ConfigFile {
  /** Worker base URL: intake (worker target) and /healthz polling after publish. */
  url?: string;
  /** Environment snapshots are signed for; must match the worker's EDGEFLAGS_ENV. */
  environment?: string;
  /** Bearer token for the worker's snapshot intake (its PUBLISH_TOKEN). */
  publishToken?: string;
  /** Read-only bearer token for the worker's GET /v1/stats (its STATS_TOKEN); else publishToken. */
  statsToken?: string;
  /** One of the worker's SERVER_API_KEYS, sent as X-API-Key by `edgeflags explain`. */
  serverApiKey?: string;
  /** Private signing key (JWK file). */
  privateKeyFile?: string;
  /** JWKS file of extra public keys to trust when verifying live or old snapshots (key rotation). */
  publicKeysFile?: string;
  /**
   * The root trust policy file: exactly what the worker has as EDGEFLAGS_POLICY (docs/approvals.md).
   * With it, commands say what a change needs and refuse to push what the worker would refuse.
   */
  policyFile?: string;
  target?: TargetName;
  /** How long `publish` waits for /healthz to report the new version. */
  waitTimeoutSeconds?: number;
  /** kv-api target: account and namespace (the API token only ever comes from the environment). */
  accountId?: string;
  namespaceId?: string;
  /** local target: wrangler's local KV folder and the namespace id from wrangler.toml. */
  localPersist?: string;
  /** Lint settings (`lint` and `publish`): `{ "maxFlagsPerOwner": 10, "staleAfterDays": 90 }`. */
  lint?: LintOptions;
}

/** Options a command may receive from the command line. */
export interface CliOptions {
  config?: string;
  url?: string;
  env?: string;
  target?: string;
  key?: string;
  actor?: string;
  timeout?: string;
  /** The trust policy file (--policy). */
  policy?: string;
}

export interface Settings {
  url: string | undefined;
  environment: string;
  /** Whether the environment was set (--env, EDGEFLAGS_ENV or the config file) rather than defaulted. */
  environmentSet: boolean;
  publishToken: string | undefined;
  /** The worker's STATS_TOKEN (`edgeflags stats`), when set apart from the publish token. */
  statsToken: string | undefined;
  /** One of the worker's SERVER_API_KEYS (`edgeflags explain`). */
  serverApiKey: string | undefined;
  /** Private JWK as JSON text, or a file to read it from. */
  privateKey: { json: string; source: string } | { file: string } | undefined;
  /** Extra trusted public keys (JWKS JSON text), and where they came from (for messages). */
  publicKeys: { json: string; source: string } | undefined;
  /** The trust policy (JSON text, as deployed in EDGEFLAGS_POLICY) and where it came from. */
  policy: { json: string; source: string } | undefined;
  target: TargetName;
  actor: string | undefined;
  waitTimeoutMs: number;
  kvApi: { apiToken?: string; accountId?: string; namespaceId?: string; baseURL?: string };
  local: { persist: string; wranglerToml: string };
  /** The config file used, if any. */
  configFile: string | undefined;
}

export const CONFIG_PATH = join(".edgeflags", "config.json");

/** The nearest `.edgeflags/config.json` at or above `cwd`. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(EXIT.io, `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as ConfigFile;
  } catch (err) {
    throw new CliError(EXIT.usage, `${path} is not a JSON object: ${(err as Error).message}`);
  }
}

const blank = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());

/** A positive whole number of a `lint` setting, or undefined when it is not set. */
function lintCount(value: unknown, name: string, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new CliError(
      EXIT.usage,
      `${path}: lint.${name} must be a whole number >= 1, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * The `lint` settings of the config file (--config, EDGEFLAGS_CONFIG or the nearest
 * `.edgeflags/config.json`), checked; none without a config file. Lint needs nothing else of the
 * settings, so it reads no keys or policy.
 */
export function lintSettings(
  options: Pick<CliOptions, "config">,
  env: Record<string, string | undefined>,
  cwd: string,
): LintOptions {
  const path = configPathOf(options, env, cwd);
  if (!path) return {};
  const lint = readConfigFile(path).lint as unknown;
  if (lint === undefined) return {};
  if (typeof lint !== "object" || lint === null || Array.isArray(lint)) {
    throw new CliError(EXIT.usage, `${path}: lint must be an object like { "maxFlagsPerOwner": 10 }`);
  }
  const l = lint as Record<string, unknown>;
  const maxFlagsPerOwner = lintCount(l.maxFlagsPerOwner, "maxFlagsPerOwner", path);
  const staleAfterDays = lintCount(l.staleAfterDays, "staleAfterDays", path);
  return {
    ...(maxFlagsPerOwner === undefined ? {} : { maxFlagsPerOwner }),
    ...(staleAfterDays === undefined ? {} : { staleAfterDays }),
  };
}

/** The config file in use: --config, else EDGEFLAGS_CONFIG, else the nearest one above `cwd`. */
function configPathOf(
  options: Pick<CliOptions, "config">,
  env: Record<string, string | undefined>,
  cwd: string,
): string | undefined {
  return options.config
    ? resolve(cwd, options.config)
    : blank(env.EDGEFLAGS_CONFIG)
      ? resolve(cwd, env.EDGEFLAGS_CONFIG as string)
      : findConfigFile(cwd);
}

/** Resolves every setting; throws CliError (exit 2) for values that make no sense. */
export function resolveSettings(
  options: CliOptions,
  env: Record<string, string | undefined>,
  cwd: string,
): Settings {
  const configFile = configPathOf(options, env, cwd);
  const file: ConfigFile = configFile ? readConfigFile(configFile) : {};
  const base = configFile ? dirname(configFile) : cwd;
  const fromFile = (p: string | undefined) =>
    p === undefined ? undefined : isAbsolute(p) ? p : join(base, p);
  // The project root is where .edgeflags/ lives; without a config file, the working directory.
  const root = configFile && base.endsWith(".edgeflags") ? dirname(base) : cwd;

  const target = options.target ?? blank(env.EDGEFLAGS_TARGET) ?? file.target ?? "worker";
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new CliError(EXIT.usage, `unknown target "${target}": use one of ${TARGETS.join(", ")}`);
  }
  const timeoutRaw = options.timeout ?? blank(env.EDGEFLAGS_WAIT_TIMEOUT) ?? file.waitTimeoutSeconds ?? 60;
  const timeout = Number(timeoutRaw);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new CliError(
      EXIT.usage,
      `the wait timeout must be a positive number of seconds, got "${timeoutRaw}"`,
    );
  }

  const keyFile = options.key ? resolve(cwd, options.key) : undefined;
  const keyJson = blank(env.EDGEFLAGS_PRIVATE_KEY);
  const envKeyFile = blank(env.EDGEFLAGS_PRIVATE_KEY_FILE);
  const privateKey = keyFile
    ? { file: keyFile }
    : keyJson
      ? { json: keyJson, source: "EDGEFLAGS_PRIVATE_KEY" }
      : envKeyFile
        ? { file: resolve(cwd, envKeyFile) }
        : file.privateKeyFile
          ? { file: fromFile(file.privateKeyFile) as string }
          : undefined;

  // The JWKS itself, else a file of it (EDGEFLAGS_PUBLIC_KEYS_FILE, relative to cwd; or the config's).
  const envKeysFile = blank(env.EDGEFLAGS_PUBLIC_KEYS_FILE);
  const publicKeysFile = envKeysFile
    ? { path: resolve(cwd, envKeysFile), source: "EDGEFLAGS_PUBLIC_KEYS_FILE" }
    : file.publicKeysFile
      ? { path: fromFile(file.publicKeysFile) as string, source: "publicKeysFile" }
      : undefined;
  const publicKeysVar = blank(env.EDGEFLAGS_PUBLIC_KEYS);
  let publicKeys: Settings["publicKeys"] = publicKeysVar
    ? { json: publicKeysVar, source: "EDGEFLAGS_PUBLIC_KEYS" }
    : undefined;
  if (!publicKeys && publicKeysFile) {
    const { path, source } = publicKeysFile;
    try {
      publicKeys = { json: readFileSync(path, "utf8"), source: `${source} ${path}` };
    } catch (err) {
      throw new CliError(EXIT.io, `cannot read ${source} ${path}: ${(err as Error).message}`);
    }
  }

  const policyPath = options.policy
    ? { path: resolve(cwd, options.policy), source: "--policy" }
    : blank(env.EDGEFLAGS_POLICY_FILE)
      ? { path: resolve(cwd, env.EDGEFLAGS_POLICY_FILE as string), source: "EDGEFLAGS_POLICY_FILE" }
      : file.policyFile
        ? { path: fromFile(file.policyFile) as string, source: "policyFile" }
        : undefined;
  let policy: Settings["policy"];
  if (policyPath) {
    try {
      policy = {
        json: readFileSync(policyPath.path, "utf8"),
        source: `${policyPath.source} ${policyPath.path}`,
      };
    } catch (err) {
      throw new CliError(
        EXIT.io,
        `cannot read the policy file ${policyPath.path} (${policyPath.source}): ${(err as Error).message}`,
      );
    }
  }

  const url = options.url ?? blank(env.EDGEFLAGS_URL) ?? file.url;
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) {
    throw new CliError(EXIT.usage, `the worker URL must start with http:// or https://, got "${url}"`);
  }
  return {
    url: url?.replace(/\/+$/, ""),
    environment: options.env ?? blank(env.EDGEFLAGS_ENV) ?? file.environment ?? "development",
    environmentSet: (options.env ?? blank(env.EDGEFLAGS_ENV) ?? file.environment) !== undefined,
    publishToken: blank(env.EDGEFLAGS_PUBLISH_TOKEN) ?? file.publishToken,
    statsToken: blank(env.EDGEFLAGS_STATS_TOKEN) ?? file.statsToken,
    serverApiKey: blank(env.EDGEFLAGS_SERVER_API_KEY) ?? file.serverApiKey,
    privateKey,
    publicKeys,
    policy,
    target: target as TargetName,
    actor: options.actor ?? blank(env.EDGEFLAGS_ACTOR),
    waitTimeoutMs: timeout * 1000,
    kvApi: {
      apiToken: blank(env.CLOUDFLARE_API_TOKEN),
      accountId: blank(env.CLOUDFLARE_ACCOUNT_ID) ?? file.accountId,
      namespaceId: blank(env.EDGEFLAGS_KV_NAMESPACE_ID) ?? file.namespaceId,
      baseURL: blank(env.CLOUDFLARE_API_BASE_URL),
    },
    local: {
      persist: fromFile(file.localPersist) ?? join(root, ".wrangler", "state", "v3", "kv"),
      wranglerToml: join(root, "wrangler.toml"),
    },
    configFile,
  };
}
