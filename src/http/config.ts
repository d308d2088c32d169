/**
 * Reads the worker's settings from its bindings once per isolate, with defaults and clear errors.
 * No I/O.
 */
import { type GatewaySettings, gatewaySettings } from "../gateway/settings";
import type { Env } from "./env";

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
  /** Gateway mode (GATEWAY, API_PREFIX, ORIGIN_URL, ...): see src/gateway/settings.ts. */
  gateway: GatewaySettings;
}

function int(value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min ? Math.floor(n) : fallback;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Settings from bindings; unknown or out-of-range numbers fall back to the defaults. */
export function readConfig(env: Env): Config {
  const origins = list(env.CORS_ORIGINS);
  const cookie = (env.ANON_COOKIE ?? "ef_id").trim();
  const sameSite = (env.ANON_COOKIE_SAMESITE ?? "Lax").trim();
  const issuer = env.IDENTITY_ISSUER?.trim();
  const audience = env.IDENTITY_AUDIENCE?.trim();
  return {
    environment: env.EDGEFLAGS_ENV?.trim() || "development",
    publicKeys: env.EDGEFLAGS_PUBLIC_KEYS?.trim() || undefined,
    refreshMs: int(env.REFRESH_INTERVAL_SECONDS, 10, 1) * 1000,
    kvCacheTtlSeconds: int(env.KV_CACHE_TTL_SECONDS, 30, 30),
    signalIntervalMs: int(env.SIGNAL_INTERVAL_SECONDS, 2, 0) * 1000,
    corsOrigins: origins.length === 0 || origins.includes("*") ? "*" : origins,
    geoHeaderFallback: env.GEO_HEADER_FALLBACK?.trim().toLowerCase() === "true",
    publishToken: env.PUBLISH_TOKEN?.trim() || undefined,
    serverApiKeys: list(env.SERVER_API_KEYS),
    identity:
      issuer && audience && (env.IDENTITY_JWKS || env.IDENTITY_JWKS_URL)
        ? { issuer, audience, jwks: env.IDENTITY_JWKS, jwksUrl: env.IDENTITY_JWKS_URL }
        : undefined,
    anonCookie:
      cookie === "" || cookie.toLowerCase() === "off"
        ? undefined
        : { name: cookie, sameSite: sameSite === "None" || sameSite === "Strict" ? sameSite : "Lax" },
    maxBodyBytes: int(env.MAX_BODY_BYTES, 64 * 1024, 1),
    maxSnapshotBytes: int(env.MAX_SNAPSHOT_BYTES, 5 * 1024 * 1024, 1),
    gateway: gatewaySettings(env),
  };
}
