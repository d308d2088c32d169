/**
 * Gateway-mode settings from the worker's bindings, read once per bindings object (per isolate) so
 * that routing can use them synchronously. No I/O.
 */
import type { Env } from "../http/env";
import { SettingsReader } from "../http/settings";

/** The bindings the gateway reads (documented in src/http/env.ts). */
export type GatewayBindings = Pick<
  Env,
  | "GATEWAY"
  | "API_PREFIX"
  | "ORIGIN_URL"
  | "GATEWAY_NO_SNAPSHOT"
  | "INJECT_HTML"
  | "DECISION_HEADER"
  | "FORWARD_FLAGS"
  | "ORIGIN"
>;

export interface GatewaySettings {
  enabled: boolean;
  /** Where the worker's own endpoints live in gateway mode, e.g. "/__edgeflags" (no trailing slash). */
  apiPrefix: string;
  /**
   * With no snapshot to serve (gates unknown): answer 503 (default), or pass everything to the
   * origin. Deny by default: gates carry legal and security blocks, and a storage fault (or a KV
   * writer's garbage, when the beacon cannot supply a valid copy) must not switch them off.
   */
  noSnapshot: "pass" | "deny";
  /** ORIGIN_URL, parsed; undefined when unset, invalid (see `originError`) or overridden by ORIGIN. */
  originUrl: URL | undefined;
  originError: string | undefined;
  injectHtml: boolean;
  decisionHeader: boolean;
  /** Send the visitor's client-visible flags to the origin in X-Edgeflags-Flags. */
  forwardFlags: boolean;
  /** Settings that were set but could not be used (their defaults apply instead). */
  warnings: string[];
}

export const DEFAULT_API_PREFIX = "/__edgeflags";
const PREFIX = /^(\/[A-Za-z0-9._~-]+)+$/;

function originUrl(value: string | undefined): { url?: URL; error?: string } {
  if (!value) return {};
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return { url };
  } catch {}
  return { error: `ORIGIN_URL must be an absolute http(s) URL, got ${JSON.stringify(value)}` };
}

/**
 * Parses the settings. A value that cannot be used falls back to its default with a warning (for
 * GATEWAY_NO_SNAPSHOT, "deny": a typo must not open the gates), except a bad ORIGIN_URL, which is an
 * error: with no ORIGIN binding there is then nowhere to send a request.
 */
export function readGatewaySettings(env: GatewayBindings): GatewaySettings {
  const r = new SettingsReader(env as Record<string, unknown>);
  const rawPrefix = r.text("API_PREFIX")?.replace(/\/+$/, "");
  const apiPrefix =
    rawPrefix === undefined || PREFIX.test(rawPrefix)
      ? (rawPrefix ?? DEFAULT_API_PREFIX)
      : r.fallback("API_PREFIX", 'a path like "/__edgeflags"', DEFAULT_API_PREFIX);
  const noSnapshot = r.text("GATEWAY_NO_SNAPSHOT")?.toLowerCase();
  const origin = env.ORIGIN ? {} : originUrl(r.text("ORIGIN_URL"));
  return {
    enabled: r.bool("GATEWAY", false),
    apiPrefix,
    noSnapshot:
      noSnapshot === undefined || noSnapshot === "deny"
        ? "deny"
        : noSnapshot === "pass"
          ? "pass"
          : r.fallback("GATEWAY_NO_SNAPSHOT", '"pass" or "deny"', "deny"),
    originUrl: origin.url,
    originError: origin.error,
    injectHtml: r.bool("INJECT_HTML", false),
    decisionHeader: r.bool("DECISION_HEADER", false),
    forwardFlags: r.bool("FORWARD_FLAGS", true),
    warnings: r.warnings,
  };
}

const cache = new WeakMap<object, GatewaySettings>();

/** The settings for a bindings object, parsed on first use. */
export function gatewaySettings(env: GatewayBindings | undefined): GatewaySettings {
  const key = env ?? cache;
  let s = cache.get(key);
  if (!s) {
    s = readGatewaySettings(env ?? {});
    cache.set(key, s);
  }
  return s;
}

/** Whether a path belongs to the worker's own API under the prefix. */
export function underPrefix(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}
