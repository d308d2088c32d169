/**
 * Builds the evaluation context from a request: geo from the edge (`request.cf`), the targeting key by
 * a fixed precedence, verified identity claims, and untrusted client attributes kept apart. No I/O.
 */
import type { EvaluationContext, GeoFacts } from "../eval/types";
import type { Config } from "./config";

/** Header a caller may use to name the targeting key explicitly. */
export const TARGETING_KEY_HEADER = "x-targeting-key";

const ANON_ID = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_KEY_LENGTH = 256;

function str(x: unknown): string | undefined {
  return typeof x === "string" && x !== "" ? x : undefined;
}
function num(x: unknown): number | undefined {
  const n = typeof x === "number" ? x : typeof x === "string" && x !== "" ? Number(x) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Geo facts from Cloudflare's `request.cf`. */
export function geoFromCf(cf: Record<string, unknown>): GeoFacts {
  const geo: GeoFacts = {};
  const set = <K extends keyof GeoFacts>(k: K, v: GeoFacts[K] | undefined) => {
    if (v !== undefined) geo[k] = v;
  };
  set("country", str(cf.country)?.toUpperCase());
  set("continent", str(cf.continent)?.toUpperCase());
  set("region", str(cf.region));
  set("regionCode", str(cf.regionCode));
  set("city", str(cf.city));
  set("postalCode", str(cf.postalCode));
  set("timezone", str(cf.timezone));
  set("asn", num(cf.asn));
  if (cf.isEUCountry !== undefined) geo.isEU = cf.isEUCountry === "1" || cf.isEUCountry === true;
  set("latitude", num(cf.latitude));
  set("longitude", num(cf.longitude));
  set("colo", str(cf.colo));
  return geo;
}

/** Geo facts from Cloudflare's visitor-location headers: only for local development, when configured. */
export function geoFromHeaders(headers: Headers): GeoFacts {
  const h = (name: string) => str(headers.get(name) ?? undefined);
  return geoFromCf({
    country: h("cf-ipcountry"),
    continent: h("cf-ipcontinent"),
    region: h("cf-region"),
    regionCode: h("cf-region-code"),
    city: h("cf-ipcity"),
    postalCode: h("cf-postal-code"),
    timezone: h("cf-timezone"),
    latitude: h("cf-iplatitude"),
    longitude: h("cf-iplongitude"),
  });
}

/**
 * Geo for a request: `request.cf` when the platform provides it (always, on Cloudflare). Headers are
 * read only when the platform gave no location (no `cf` object, or one without a country, as in local
 * development) and the fallback is configured, so a client can never choose its own country where the
 * edge knows it.
 */
export function geoOf(request: Request, config: Config): GeoFacts {
  const cf = (request as { cf?: Record<string, unknown> }).cf;
  const fromEdge = cf && typeof cf === "object" ? geoFromCf(cf) : {};
  if (fromEdge.country !== undefined || !config.geoHeaderFallback) return fromEdge;
  return { ...fromEdge, ...geoFromHeaders(request.headers) };
}

/** Reads one cookie's value from a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface ContextInput {
  request: Request;
  config: Config;
  /** Verified identity claims, if a valid token came with the request. */
  identity?: Record<string, unknown>;
  /** OFREP context `targetingKey`, if given. */
  contextKey?: unknown;
  /** Explicit id from the query string (GET endpoints). */
  queryKey?: string;
  /** Untrusted client attributes (OFREP context or query string). */
  attributes?: Record<string, unknown>;
  /**
   * Whether a visitor without any key gets a new anonymous id (default true). Only where the response's
   * cookie will be kept (see `keepsAnonCookie`): an id the caller cannot keep changes on every call,
   * and so would its buckets.
   */
  inventAnonId?: boolean;
}

export interface BuiltContext {
  context: EvaluationContext;
  /** Set when the key came from a fresh anonymous id: the response must set this cookie. */
  newAnonId?: string;
  keySource: "identity" | "context" | "header" | "query" | "cookie" | "new-cookie" | "none";
}

/**
 * The evaluation context for a request. Targeting key precedence: verified identity `sub`, the OFREP
 * context `targetingKey`, the `X-Targeting-Key` header, the `targetingKey` query parameter, the
 * anonymous-id cookie, and otherwise (unless `inventAnonId` is false) a new anonymous id, which the
 * response sets as the cookie. Without a key, flags that bucket answer TARGETING_KEY_MISSING.
 */
export function buildContext(input: ContextInput): BuiltContext {
  const { request, config, identity } = input;
  const geo = geoOf(request, config);
  const attributes = input.attributes ?? {};
  const keyed = (targetingKey: string, keySource: BuiltContext["keySource"]): BuiltContext => ({
    context: { geo, identity, attributes, targetingKey },
    keySource,
  });
  if (usableKey(identity?.sub)) return keyed(identity.sub, "identity");
  if (usableKey(input.contextKey)) return keyed(input.contextKey, "context");
  const fromHeader = request.headers.get(TARGETING_KEY_HEADER);
  if (usableKey(fromHeader)) return keyed(fromHeader, "header");
  if (usableKey(input.queryKey)) return keyed(input.queryKey, "query");
  const keyless: BuiltContext = { context: { geo, identity, attributes }, keySource: "none" };
  if (!config.anonCookie) return keyless;
  const fromCookie = readCookie(request.headers.get("cookie"), config.anonCookie.name);
  if (fromCookie && ANON_ID.test(fromCookie)) return keyed(fromCookie, "cookie");
  if (input.inventAnonId === false) return keyless;
  const fresh = crypto.randomUUID();
  return { ...keyed(fresh, "new-cookie"), newAnonId: fresh };
}

/**
 * Whether the caller is a browser that will keep an anonymous-id cookie set on this response, so a new
 * id is worth inventing. Browsers say where a request comes from in `Sec-Fetch-Site`. A same-origin
 * request or a page opened directly keeps the cookie. Another origin's fetch keeps it only with
 * `credentials: "include"`, which the browser allows only when the worker lists that origin in
 * CORS_ORIGINS (never under "*"); from another site the cookie must also be `SameSite=None`. A request
 * without the header is not a browser (curl, a server SDK, a back-end): it names its targeting key.
 */
export function keepsAnonCookie(request: Request, config: Config): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site === "same-origin" || site === "none") return true;
  if (site !== "same-site" && site !== "cross-site") return false;
  if (config.corsOrigins === "*") return false;
  if (site === "cross-site" && config.anonCookie?.sameSite !== "None") return false;
  const origin = request.headers.get("origin");
  return origin !== null && config.corsOrigins.includes(origin);
}

function usableKey(value: unknown): value is string {
  return typeof value === "string" && value !== "" && value.length <= MAX_KEY_LENGTH;
}

/**
 * The Set-Cookie value that keeps an anonymous visitor's id (and so their buckets) for a year. A
 * cross-site cookie (`SameSite=None`) is also `Partitioned`: browsers that block third-party cookies
 * (Chromium, Firefox, Safari) keep a partitioned one, per top-level site, which is all a front-end on
 * that site needs.
 */
export function anonCookieHeader(config: Config, id: string): string | undefined {
  if (!config.anonCookie) return undefined;
  const { name, sameSite } = config.anonCookie;
  const partitioned = sameSite === "None" ? "; Partitioned" : "";
  return `${name}=${id}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=${sameSite}${partitioned}`;
}
