/**
 * Reads the worker's settings from its bindings once per isolate, with defaults, and warnings for
 * values that cannot be used. Gateway settings are read apart (src/gateway/settings.ts), because
 * routing needs them before the runtime exists. No I/O.
 */
import type { JSONWebKeySet } from "jose";
import { MAX_PREVIEW_LIFETIME_SECONDS } from "../preview/token";
import { DEFAULT_MAX_SNAPSHOT_BYTES } from "../snapshot/verify";
import type { Env } from "./env";
import { SettingsReader } from "./settings";

/** Identity settings that make a usable whole: one source of keys, and a bound on token lifetime. */
export interface IdentitySettings {
  issuer: string;
  audience: string;
  /** The inline JWKS, parsed; or `jwksUrl`, never both. */
  jwks?: JSONWebKeySet;
  jwksUrl?: URL;
  /** Longest accepted token lifetime: `exp - iat`, or `exp - now` for a token without `iat`. */
  maxLifetimeSeconds: number;
}

/**
 * Default IDENTITY_MAX_LIFETIME_SECONDS: 24 h, the longest default of the common identity providers
 * (Auth0 access tokens, Cloudflare Access; most issue 1 h), so a token that lives longer is a choice
 * to make explicitly.
 */
export const DEFAULT_IDENTITY_MAX_LIFETIME_SECONDS = 24 * 60 * 60;

/** COUNTS, COUNTS_FLUSH_SECONDS, COUNTS_MAX_ROWS, COUNTS_COUNTRY, COUNTS_COUNTRY_LIMIT. */
export interface CountSettings {
  enabled: boolean;
  flushMs: number;
  maxRows: number;
  country: boolean;
  countryLimit: number;
  /** COUNTS_SAMPLE: the share of isolates that write to Analytics Engine (each decides at start). */
  sample: number;
}

export type CookieSameSite = "Lax" | "Strict" | "None";

export interface Config {
  environment: string;
  publicKeys: string | undefined;
  /** EDGEFLAGS_POLICY as set (JSON text); parsed with the keys it names. */
  policy: string | undefined;
  refreshMs: number;
  kvCacheTtlSeconds: number;
  /** Version-signal check interval, ms; 0 when SIGNAL_INTERVAL_SECONDS turns it off. */
  signalIntervalMs: number;
  /** SIGNAL_LOCATION: the location reported to the beacon instead of `request.cf.colo`. */
  signalLocation: string | undefined;
  corsOrigins: "*" | string[];
  geoHeaderFallback: boolean;
  publishToken: string | undefined;
  serverApiKeys: string[];
  /** Complete, usable identity settings; undefined when identity is off or `identityError` is set. */
  identity: IdentitySettings | undefined;
  /**
   * Why the identity settings that are set cannot be used: names the settings, never their values.
   * Requests with a bearer token are then refused rather than evaluated without identity.
   */
  identityError: string | undefined;
  anonCookie: { name: string; sameSite: CookieSameSite } | undefined;
  /**
   * Preview links (src/preview): the longest token lifetime accepted, and the cookie's SameSite (the
   * anonymous-id cookie's, ANON_COOKIE_SAMESITE, even when that cookie is off: both go where the
   * front-end's requests go).
   */
  preview: { maxLifetimeSeconds: number; sameSite: CookieSameSite };
  maxBodyBytes: number;
  maxSnapshotBytes: number;
  /** Evaluation counts (src/observe): whether on, and how they are kept in memory and flushed. */
  counts: CountSettings;
  /**
   * Outcome events (POST /v1/events): the largest body, the most events a request, and each visitor's
   * token bucket (events a minute, burst).
   */
  events: { maxBodyBytes: number; maxPerRequest: number; perMinute: number; burst: number };
  /** STATS_TOKEN: a bearer token that may read GET /v1/stats and nothing else. */
  statsToken: string | undefined;
  /** CONSOLE_TOKEN: signs in to the read-only console (src/console), and nothing else. */
  consoleToken: string | undefined;
  /** Event streams (GET /v1/events): the per-isolate limit (0: off), heartbeat and lifetime, ms. */
  streams: { maxPerIsolate: number; heartbeatMs: number; maxLifetimeMs: number };
  /** Settings that were set but could not be used (their defaults apply instead). */
  warnings: string[];
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Settings from bindings; a value that cannot be used falls back to its default with a warning.
 * Identity settings have no safe default: unusable ones are `identityError` (and a warning).
 */
export function readConfig(env: Env): Config {
  const r = new SettingsReader(env as unknown as Record<string, unknown>);
  const origins = list(env.CORS_ORIGINS);
  const cookie = r.text("ANON_COOKIE") ?? "ef_id";
  const identity = readIdentity(r);
  if (identity.error) r.warnings.push(`${identity.error}; requests with a bearer token are refused`);
  const sameSite = r.oneOf("ANON_COOKIE_SAMESITE", ["Lax", "Strict", "None"], "Lax");
  return {
    environment: r.text("EDGEFLAGS_ENV") ?? "development",
    publicKeys: r.text("EDGEFLAGS_PUBLIC_KEYS"),
    policy: r.text("EDGEFLAGS_POLICY"),
    refreshMs: r.int("REFRESH_INTERVAL_SECONDS", 10, 1) * 1000,
    kvCacheTtlSeconds: r.int("KV_CACHE_TTL_SECONDS", 30, 30),
    signalIntervalMs: r.int("SIGNAL_INTERVAL_SECONDS", 2, 0) * 1000,
    signalLocation: r.text("SIGNAL_LOCATION")?.slice(0, 64),
    corsOrigins: origins.length === 0 || origins.includes("*") ? "*" : origins,
    geoHeaderFallback: r.bool("GEO_HEADER_FALLBACK", false),
    publishToken: r.text("PUBLISH_TOKEN"),
    serverApiKeys: list(env.SERVER_API_KEYS),
    identity: identity.settings,
    identityError: identity.error,
    anonCookie: cookie.toLowerCase() === "off" ? undefined : { name: cookie, sameSite },
    preview: { maxLifetimeSeconds: previewLifetime(r), sameSite },
    maxBodyBytes: r.int("MAX_BODY_BYTES", 64 * 1024, 1),
    maxSnapshotBytes: r.int("MAX_SNAPSHOT_BYTES", DEFAULT_MAX_SNAPSHOT_BYTES, 1),
    counts: {
      enabled: r.bool("COUNTS", true),
      // A window ends at each full minute anyway: more than 60 s would change nothing.
      flushMs: Math.min(60, r.int("COUNTS_FLUSH_SECONDS", 60, 1)) * 1000,
      maxRows: r.int("COUNTS_MAX_ROWS", 1000, 1),
      country: r.bool("COUNTS_COUNTRY", false),
      countryLimit: r.int("COUNTS_COUNTRY_LIMIT", 20, 1),
      sample: r.share("COUNTS_SAMPLE", 1),
    },
    events: {
      // navigator.sendBeacon queues at most 64 KiB in all; an event batch needs far less.
      maxBodyBytes: r.int("EVENTS_MAX_BODY_BYTES", 16 * 1024, 1),
      maxPerRequest: r.int("EVENTS_MAX_PER_REQUEST", 50, 1),
      perMinute: r.int("EVENTS_RATE_PER_MINUTE", 120, 1),
      burst: r.int("EVENTS_BURST", 100, 1),
    },
    statsToken: r.text("STATS_TOKEN"),
    consoleToken: r.text("CONSOLE_TOKEN"),
    streams: {
      maxPerIsolate: r.int("STREAMS_MAX_PER_ISOLATE", 1000, 0),
      heartbeatMs: r.int("STREAM_HEARTBEAT_SECONDS", 20, 1) * 1000,
      maxLifetimeMs: r.int("STREAM_MAX_SECONDS", 600, 1) * 1000,
    },
    warnings: r.warnings,
  };
}

/** PREVIEW_MAX_LIFETIME_SECONDS: it may lower the built-in maximum (7 days), never raise it. */
function previewLifetime(r: SettingsReader): number {
  const n = r.int("PREVIEW_MAX_LIFETIME_SECONDS", MAX_PREVIEW_LIFETIME_SECONDS, 1);
  if (n <= MAX_PREVIEW_LIFETIME_SECONDS) return n;
  return r.fallback(
    "PREVIEW_MAX_LIFETIME_SECONDS",
    `at most ${MAX_PREVIEW_LIFETIME_SECONDS} (7 days)`,
    MAX_PREVIEW_LIFETIME_SECONDS,
  );
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An https URL, or http on this machine (a local identity provider); anything else is undefined. */
function secureUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    if (url.protocol === "https:" || (url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname))) return url;
  } catch {}
  return undefined;
}

/**
 * The identity settings: none set is identity off; any set must make a complete, usable whole, else
 * `error` lists every problem. Checked here, once, so nothing fails later at a request.
 */
function readIdentity(r: SettingsReader): { settings?: IdentitySettings; error?: string } {
  const issuer = r.text("IDENTITY_ISSUER");
  const audience = r.text("IDENTITY_AUDIENCE");
  const rawJwks = r.text("IDENTITY_JWKS");
  const rawUrl = r.text("IDENTITY_JWKS_URL");
  const rawLifetime = r.text("IDENTITY_MAX_LIFETIME_SECONDS");
  if (!issuer && !audience && !rawJwks && !rawUrl && !rawLifetime) return {};
  const problems: string[] = [];
  if (!issuer) problems.push("IDENTITY_ISSUER is missing");
  if (!audience) problems.push("IDENTITY_AUDIENCE is missing");
  let jwks: JSONWebKeySet | undefined;
  let jwksUrl: URL | undefined;
  if (rawJwks && rawUrl) problems.push("IDENTITY_JWKS and IDENTITY_JWKS_URL are both set; set one");
  else if (!rawJwks && !rawUrl) problems.push("IDENTITY_JWKS or IDENTITY_JWKS_URL is missing");
  else if (rawJwks) {
    const parsed = parseJwks(rawJwks);
    if (typeof parsed === "string") problems.push(parsed);
    else jwks = parsed;
  } else {
    jwksUrl = secureUrl(rawUrl as string);
    if (!jwksUrl) problems.push("IDENTITY_JWKS_URL must be an https URL (http only for localhost)");
  }
  const maxLifetimeSeconds =
    rawLifetime === undefined ? DEFAULT_IDENTITY_MAX_LIFETIME_SECONDS : Number(rawLifetime);
  if (!Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds < 1)
    problems.push("IDENTITY_MAX_LIFETIME_SECONDS is not a whole number >= 1");
  if (problems.length > 0) return { error: `identity settings: ${problems.join("; ")}` };
  return {
    settings: { issuer: issuer as string, audience: audience as string, jwks, jwksUrl, maxLifetimeSeconds },
  };
}

/** The inline JWKS (an object whose `keys` lists at least one JWK), or what is wrong with it. */
function parseJwks(text: string): JSONWebKeySet | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "IDENTITY_JWKS is not JSON";
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  const isKey = (k: unknown) =>
    typeof k === "object" && k !== null && typeof (k as { kty?: unknown }).kty === "string";
  if (Array.isArray(keys) && keys.length > 0 && keys.every(isKey)) return value as JSONWebKeySet;
  return 'IDENTITY_JWKS is not a JWKS ({"keys": [...]} with at least one key)';
}
