/**
 * Gateway-mode settings from the worker's bindings, read once per bindings object (per isolate) so
 * that routing can use them synchronously. No I/O.
 */
import type { Env } from "../http/env";

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
>;

export interface GatewaySettings {
  enabled: boolean;
  /** Where the worker's own endpoints live in gateway mode, e.g. "/__edgeflags" (no trailing slash). */
  apiPrefix: string;
  /** With no snapshot at all (gates unknown): pass everything to the origin, or answer 503. */
  noSnapshot: "pass" | "deny";
  /** ORIGIN_URL, parsed; undefined when unset (or invalid: see `originError`). */
  originUrl: URL | undefined;
  originError: string | undefined;
  injectHtml: boolean;
  decisionHeader: boolean;
  /** Send the visitor's client-visible flags to the origin in X-Edgeflags-Flags. */
  forwardFlags: boolean;
}

export const DEFAULT_API_PREFIX = "/__edgeflags";
const PREFIX = /^(\/[A-Za-z0-9._~-]+)+$/;

function flag(value: string | undefined, fallback: boolean): boolean {
  const v = value?.trim().toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  return fallback;
}

function originUrl(value: string | undefined): { url?: URL; error?: string } {
  const raw = value?.trim();
  if (!raw) return {};
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return { url };
  } catch {}
  return { error: `ORIGIN_URL must be an absolute http(s) URL, got ${JSON.stringify(raw)}` };
}

/** Parses the settings; bad values fall back to the documented defaults, a bad ORIGIN_URL is an error. */
export function readGatewaySettings(env: GatewayBindings): GatewaySettings {
  const prefix = env.API_PREFIX?.trim().replace(/\/+$/, "") ?? "";
  const origin = originUrl(env.ORIGIN_URL);
  return {
    enabled: flag(env.GATEWAY, false),
    apiPrefix: PREFIX.test(prefix) ? prefix : DEFAULT_API_PREFIX,
    noSnapshot: env.GATEWAY_NO_SNAPSHOT?.trim().toLowerCase() === "deny" ? "deny" : "pass",
    originUrl: origin.url,
    originError: origin.error,
    injectHtml: flag(env.INJECT_HTML, false),
    decisionHeader: flag(env.DECISION_HEADER, false),
    forwardFlags: flag(env.FORWARD_FLAGS, true),
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
