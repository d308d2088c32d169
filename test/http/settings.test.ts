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
