/** Worker settings: documented defaults, and a warning (never a silent change) for a value that cannot be used. */
import { describe, expect, it } from "vitest";
import { readGatewaySettings } from "../../src/gateway/settings";
import { readConfig } from "../../src/http/config";
import type { Env } from "../../src/http/env";
import { SettingsReader } from "../../src/http/settings";

const config = (vars: Record<string, string>) => readConfig(vars as unknown as Env);

describe("SettingsReader", () => {
  it.each([
    ["true", true],
    ["YES", true],
    ["1", true],
    ["false", false],
    ["No", false],
    ["0", false],
    [" true ", true],
  ])("reads %j as %s", (text, value) => {
    const r = new SettingsReader({ X: text });
    expect(r.bool("X", !value)).toBe(value);
    expect(r.warnings).toEqual([]);
  });

  it("uses the default for an unset or blank value, without a warning", () => {
    const r = new SettingsReader({ B: "  " });
    expect(r.bool("A", true)).toBe(true);
    expect(r.int("B", 7, 0)).toBe(7);
    expect(r.warnings).toEqual([]);
  });

  it.each<[string, (r: SettingsReader) => unknown, unknown, string]>([
    ["on", (r) => r.bool("X", false), false, 'X="on" is not "true" or "false"; using the default false'],
    ["0.5", (r) => r.int("X", 2, 0), 2, 'X="0.5" is not a whole number >= 0; using the default 2'],
    ["2s", (r) => r.int("X", 2, 0), 2, 'X="2s" is not a whole number >= 0; using the default 2'],
    ["10", (r) => r.int("X", 30, 30), 30, 'X="10" is not a whole number >= 30; using the default 30'],
    [
      "lax-ish",
      (r) => r.oneOf("X", ["Lax", "None"], "Lax"),
      "Lax",
      'X="lax-ish" is not "Lax" or "None"; using the default "Lax"',
    ],
  ])("falls back with a warning for %j", (text, read, value, warning) => {
    const r = new SettingsReader({ X: text });
    expect(read(r)).toBe(value);
    expect(r.warnings).toEqual([warning]);
  });
});

describe("readConfig", () => {
  it("has the documented defaults and no warnings when nothing is set", () => {
    const c = config({});
    expect(c).toMatchObject({
      environment: "development",
      refreshMs: 10_000,
      kvCacheTtlSeconds: 30,
      signalIntervalMs: 2000,
      corsOrigins: "*",
      geoHeaderFallback: false,
      anonCookie: { name: "ef_id", sameSite: "Lax" },
      maxBodyBytes: 65_536,
      maxSnapshotBytes: 5 * 1024 * 1024,
      warnings: [],
    });
  });

  it("reads SameSite in any case and booleans the same way as the gateway", () => {
    const c = config({ ANON_COOKIE_SAMESITE: "none", GEO_HEADER_FALLBACK: "1" });
    expect(c.anonCookie?.sameSite).toBe("None");
    expect(c.geoHeaderFallback).toBe(true);
    expect(c.warnings).toEqual([]);
  });

  it("warns about every value it cannot use", () => {
    const c = config({ SIGNAL_INTERVAL_SECONDS: "0.5", GEO_HEADER_FALLBACK: "maybe", MAX_BODY_BYTES: "-1" });
    expect(c.signalIntervalMs).toBe(2000);
    expect(c.geoHeaderFallback).toBe(false);
    expect(c.maxBodyBytes).toBe(65_536);
    expect(c.warnings.map((w) => w.split("=")[0])).toEqual([
      "SIGNAL_INTERVAL_SECONDS",
      "GEO_HEADER_FALLBACK",
      "MAX_BODY_BYTES",
    ]);
  });
});

describe("readConfig identity", () => {
  const JWKS = '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}';
  const complete = { IDENTITY_ISSUER: "https://id.example", IDENTITY_AUDIENCE: "shop", IDENTITY_JWKS: JWKS };

  it("is off, without a warning, when no identity setting is set", () => {
    const c = config({});
    expect(c.identity).toBeUndefined();
    expect(c.identityError).toBeUndefined();
  });

  it("parses a complete set once, with the default maximum lifetime of 24 h", () => {
    const c = config(complete);
    expect(c.identity).toEqual({
      issuer: "https://id.example",
      audience: "shop",
      jwks: JSON.parse(JWKS),
      jwksUrl: undefined,
      maxLifetimeSeconds: 86_400,
    });
    expect(c.identityError).toBeUndefined();
    expect(c.warnings).toEqual([]);
  });

  it.each<[string, Record<string, string>, string]>([
    ["no issuer", { ...complete, IDENTITY_ISSUER: "" }, "IDENTITY_ISSUER is missing"],
    ["no audience", { ...complete, IDENTITY_AUDIENCE: "" }, "IDENTITY_AUDIENCE is missing"],
    ["no keys", { ...complete, IDENTITY_JWKS: "" }, "IDENTITY_JWKS or IDENTITY_JWKS_URL is missing"],
    ["a JWKS that is not JSON", { ...complete, IDENTITY_JWKS: "{" }, "IDENTITY_JWKS is not JSON"],
    ["a JWKS without keys", { ...complete, IDENTITY_JWKS: '{"keys":[]}' }, "IDENTITY_JWKS is not a JWKS"],
    [
      "a key without kty",
      { ...complete, IDENTITY_JWKS: '{"keys":[{"x":"y"}]}' },
      "IDENTITY_JWKS is not a JWKS",
    ],
    ["JSON null", { ...complete, IDENTITY_JWKS: "null" }, "IDENTITY_JWKS is not a JWKS"],
    [
      "both JWKS and URL",
      { ...complete, IDENTITY_JWKS_URL: "https://id.example/jwks" },
      "IDENTITY_JWKS and IDENTITY_JWKS_URL are both set",
    ],
    [
      "an http URL to another host",
      { ...complete, IDENTITY_JWKS: "", IDENTITY_JWKS_URL: "http://id.example/jwks" },
      "IDENTITY_JWKS_URL must be an https URL",
    ],
    [
      "a URL that is not one",
      { ...complete, IDENTITY_JWKS: "", IDENTITY_JWKS_URL: "jwks.json" },
      "IDENTITY_JWKS_URL must be an https URL",
    ],
    [
      "a lifetime of 0",
      { ...complete, IDENTITY_MAX_LIFETIME_SECONDS: "0" },
      "IDENTITY_MAX_LIFETIME_SECONDS is not a whole number >= 1",
    ],
    ["a lone lifetime", { IDENTITY_MAX_LIFETIME_SECONDS: "60" }, "IDENTITY_ISSUER is missing"],
  ])("refuses %s, naming the setting but not its value", (_what, vars, problem) => {
    const c = config(vars);
    expect(c.identity).toBeUndefined();
    expect(c.identityError).toMatch(/^identity settings: /);
    expect(c.identityError).toContain(problem);
    expect(c.warnings).toEqual([`${c.identityError}; requests with a bearer token are refused`]);
    for (const value of [vars.IDENTITY_JWKS, vars.IDENTITY_JWKS_URL]) {
      if (value && value.length > 4) expect(c.identityError).not.toContain(value);
    }
  });

  it("lists every problem at once", () => {
    expect(config({ IDENTITY_JWKS: "{" }).identityError).toBe(
      "identity settings: IDENTITY_ISSUER is missing; IDENTITY_AUDIENCE is missing; IDENTITY_JWKS is not JSON",
    );
  });

  it.each([
    "http://localhost:8788/jwks",
    "http://127.0.0.1/jwks",
    "http://[::1]:9/jwks",
    "https://id.example/jwks",
  ])("accepts the JWKS URL %s", (url) => {
    const c = config({
      ...complete,
      IDENTITY_JWKS: "",
      IDENTITY_JWKS_URL: url,
      IDENTITY_MAX_LIFETIME_SECONDS: "600",
    });
    expect(c.identityError).toBeUndefined();
    expect(c.identity?.jwksUrl?.href).toBe(new URL(url).href);
    expect(c.identity?.maxLifetimeSeconds).toBe(600);
  });
});

describe("readGatewaySettings", () => {
  it("falls back to deny, not pass, for a GATEWAY_NO_SNAPSHOT it does not know", () => {
    const s = readGatewaySettings({ GATEWAY: "true", GATEWAY_NO_SNAPSHOT: "block" });
    expect(s.noSnapshot).toBe("deny");
    expect(s.warnings).toEqual([
      'GATEWAY_NO_SNAPSHOT="block" is not "pass" or "deny"; using the default "deny"',
    ]);
  });

  it.each(["api", "/", "/a b"])("warns about API_PREFIX %j and keeps the default", (prefix) => {
    const s = readGatewaySettings({ API_PREFIX: prefix });
    expect(s.apiPrefix).toBe("/__edgeflags");
    expect(s.warnings).toHaveLength(1);
  });

  it("warns about a GATEWAY value it cannot read", () => {
    const s = readGatewaySettings({ GATEWAY: "on" });
    expect(s.enabled).toBe(false);
    expect(s.warnings[0]).toMatch(/^GATEWAY="on"/);
  });

  it("refuses a bad ORIGIN_URL only when there is no ORIGIN binding to use instead", () => {
    expect(readGatewaySettings({ ORIGIN_URL: "not a url" }).originError).toMatch(/ORIGIN_URL/);
    const bound = readGatewaySettings({ ORIGIN_URL: "not a url", ORIGIN: {} as never });
    expect(bound.originError).toBeUndefined();
  });
});
