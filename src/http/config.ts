/**
 * Reads the worker's settings from its bindings once per isolate, with defaults, and warnings for
 * values that cannot be used. Gateway settings are read apart (src/gateway/settings.ts), because
 * routing needs them before the runtime exists. No I/O.
 */
import { DEFAULT_MAX_SNAPSHOT_BYTES } from "../snapshot/verify";
import type { Env } from "./env";
import { SettingsReader } from "./settings";

export interface Config {
  environment: string;
  publicKeys: string | undefined;
  refreshMs: number;
  kvCacheTtlSeconds: number;
  /** Version-signal check interval, ms; 0 when SIGNAL_INTERVAL_SECONDS turns it off. */
  signalIntervalMs: number;
  corsOrigins: "*" | string[];
  geoHeaderFallback: boolean;
  publishToken: string | undefined;
  serverApiKeys: string[];
  identity: { issuer: string; audience: string; jwks?: string; jwksUrl?: string } | undefined;
  anonCookie: { name: string; sameSite: "Lax" | "Strict" | "None" } | undefined;
  maxBodyBytes: number;
  maxSnapshotBytes: number;
  /** Settings that were set but could not be used (their defaults apply instead). */
  warnings: string[];
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Settings from bindings; a value that cannot be used falls back to its default with a warning. */
export function readConfig(env: Env): Config {
  const r = new SettingsReader(env as unknown as Record<string, unknown>);
  const origins = list(env.CORS_ORIGINS);
  const cookie = r.text("ANON_COOKIE") ?? "ef_id";
  const issuer = r.text("IDENTITY_ISSUER");
  const audience = r.text("IDENTITY_AUDIENCE");
  return {
    environment: r.text("EDGEFLAGS_ENV") ?? "development",
    publicKeys: r.text("EDGEFLAGS_PUBLIC_KEYS"),
    refreshMs: r.int("REFRESH_INTERVAL_SECONDS", 10, 1) * 1000,
    kvCacheTtlSeconds: r.int("KV_CACHE_TTL_SECONDS", 30, 30),
    signalIntervalMs: r.int("SIGNAL_INTERVAL_SECONDS", 2, 0) * 1000,
    corsOrigins: origins.length === 0 || origins.includes("*") ? "*" : origins,
    geoHeaderFallback: r.bool("GEO_HEADER_FALLBACK", false),
    publishToken: r.text("PUBLISH_TOKEN"),
    serverApiKeys: list(env.SERVER_API_KEYS),
    identity:
      issuer && audience && (env.IDENTITY_JWKS || env.IDENTITY_JWKS_URL)
        ? { issuer, audience, jwks: env.IDENTITY_JWKS, jwksUrl: env.IDENTITY_JWKS_URL }
        : undefined,
    anonCookie:
      cookie.toLowerCase() === "off"
        ? undefined
        : { name: cookie, sameSite: r.oneOf("ANON_COOKIE_SAMESITE", ["Lax", "Strict", "None"], "Lax") },
    maxBodyBytes: r.int("MAX_BODY_BYTES", 64 * 1024, 1),
    maxSnapshotBytes: r.int("MAX_SNAPSHOT_BYTES", DEFAULT_MAX_SNAPSHOT_BYTES, 1),
    warnings: r.warnings,
  };
}
