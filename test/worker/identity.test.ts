/**
 * Identity settings in workerd: a partial or unusable set shows in /healthz and refuses requests that
 * carry a bearer token (the API with 500, gates as unavailable) while tokenless ones still evaluate;
 * tokens must expire, within IDENTITY_MAX_LIFETIME_SECONDS.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/http/env";
import { type Echo, gatewayHarness, publishGateway } from "./gateway-helpers";
import { fixtureKeys, harness, ofrepInit, publishToKv, signer, snapshot } from "./helpers";

const ENV = "identity";
const GATEWAY_ENV = "identity-gateway";
const JWKS = JSON.stringify({ keys: [fixtureKeys.primary.public] });
const IDENTITY = {
  IDENTITY_ISSUER: "https://id.example.test",
  IDENTITY_AUDIENCE: "shop",
  IDENTITY_JWKS: JWKS,
};
const US = { country: "US", continent: "NA", colo: "SJC" };

// Refused token requests are logged as request_failed (console); keep the test output readable.
const consoleLog = vi.spyOn(console, "log").mockImplementation(() => {});
afterAll(() => consoleLog.mockRestore());

beforeAll(async () => {
  await publishToKv(await snapshot({ environment: ENV, version: 1 }), ENV);
  await publishGateway(GATEWAY_ENV);
});

interface TokenOptions {
  /** Seconds from now; null: no `exp` claim. */
  exp?: number | null;
  /** Seconds from now; null: no `iat` claim. */
  iat?: number | null;
}

/** A token the IDENTITY settings above accept (unless `exp`/`iat` say otherwise). */
async function token(claims: Record<string, unknown> = {}, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: "user-1", ...claims })
    .setProtectedHeader({ alg: "EdDSA", kid: fixtureKeys.primary.public.kid })
    .setIssuer(IDENTITY.IDENTITY_ISSUER)
    .setAudience(IDENTITY.IDENTITY_AUDIENCE);
  const exp = opts.exp === undefined ? 300 : opts.exp;
  const iat = opts.iat === undefined ? 0 : opts.iat;
  if (exp !== null) jwt.setExpirationTime(now + exp);
  if (iat !== null) jwt.setIssuedAt(now + iat);
  return jwt.sign((await signer()).key);
}

const bearer = async (opts?: TokenOptions) => ({
  authorization: `Bearer ${await token({}, opts)}`,
});

async function health(h: ReturnType<typeof harness>) {
  const res = await h.fetch("/healthz");
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const { IDENTITY_JWKS: _, ...withoutKeys } = IDENTITY;

describe.each<[string, Partial<Env>, string]>([
  ["IDENTITY_ISSUER is missing", { ...IDENTITY, IDENTITY_ISSUER: "" }, "IDENTITY_ISSUER is missing"],
  ["IDENTITY_AUDIENCE is missing", { ...IDENTITY, IDENTITY_AUDIENCE: " " }, "IDENTITY_AUDIENCE is missing"],
  ["no keys", withoutKeys, "IDENTITY_JWKS or IDENTITY_JWKS_URL is missing"],
  ["IDENTITY_JWKS is not JSON", { ...IDENTITY, IDENTITY_JWKS: "{keys: [" }, "IDENTITY_JWKS is not JSON"],
  [
    "IDENTITY_JWKS is one key, not a set",
    { ...IDENTITY, IDENTITY_JWKS: JSON.stringify(fixtureKeys.primary.public) },
    "IDENTITY_JWKS is not a JWKS",
  ],
  ["IDENTITY_JWKS has no keys", { ...IDENTITY, IDENTITY_JWKS: '{"keys":[]}' }, "IDENTITY_JWKS is not a JWKS"],
  [
    "IDENTITY_JWKS_URL is plain http",
    { ...withoutKeys, IDENTITY_JWKS_URL: "http://id.example.test/jwks.json" },
    "IDENTITY_JWKS_URL must be an https URL",
  ],
  [
    "IDENTITY_JWKS_URL is not a URL",
    { ...withoutKeys, IDENTITY_JWKS_URL: "id.example.test/jwks.json" },
    "IDENTITY_JWKS_URL must be an https URL",
  ],
  [
    "both IDENTITY_JWKS and IDENTITY_JWKS_URL",
    { ...IDENTITY, IDENTITY_JWKS_URL: "https://id.example.test/jwks.json" },
    "IDENTITY_JWKS and IDENTITY_JWKS_URL are both set",
  ],
  [
    "IDENTITY_MAX_LIFETIME_SECONDS is not a number",
    { ...IDENTITY, IDENTITY_MAX_LIFETIME_SECONDS: "1h" },
    "IDENTITY_MAX_LIFETIME_SECONDS is not a whole number >= 1",
  ],
  [
    "only IDENTITY_MAX_LIFETIME_SECONDS",
    { IDENTITY_MAX_LIFETIME_SECONDS: "3600" },
    "IDENTITY_ISSUER is missing",
  ],
])("identity misconfigured: %s", (_what, settings, problem) => {
  const h = () => harness({ EDGEFLAGS_ENV: ENV, ...settings });

  it("shows in /healthz, naming the setting but not its value", async () => {
    const { status, body } = await health(h());
    expect(status).toBe(503);
    expect(body).toMatchObject({
      status: "misconfigured",
      version: 1,
      error: expect.stringContaining(problem),
    });
    expect(body.warnings).toEqual([expect.stringContaining(problem)]);
    for (const value of [settings.IDENTITY_JWKS, settings.IDENTITY_JWKS_URL]) {
      if (value) expect(JSON.stringify(body)).not.toContain(JSON.stringify(value).slice(1, -1));
    }
  });

  it("refuses a request with a bearer token: 500, the setting named", async () => {
    const res = await h().fetch("/v1/flags", { headers: await bearer() });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; message: string };
    expect(body).toEqual({ error: "internal", message: expect.stringMatching(/^identity settings: /) });
    expect(body.message).toContain(problem);
    const ofrep = await h().fetch(
      "/ofrep/v1/evaluate/flags/banner-text",
      ofrepInit({ targetingKey: "k" }, { headers: await bearer() }),
    );
    expect(ofrep.status).toBe(500);
    expect(await ofrep.json()).toMatchObject({ key: "banner-text", errorCode: "GENERAL" });
  });

  it("still evaluates requests without a token", async () => {
    const res = await h().fetch("/v1/flags?targetingKey=k");
    expect(res.status).toBe(200);
    const ofrep = await h().fetch("/ofrep/v1/evaluate/flags/banner-text", ofrepInit({ targetingKey: "k" }));
    expect(ofrep.status).toBe(200);
  });
});

describe("complete identity settings", () => {
  it.each<[string, Partial<Env>]>([
    ["an inline JWKS", IDENTITY],
    ["an https JWKS URL", { ...withoutKeys, IDENTITY_JWKS_URL: "https://id.example.test/jwks.json" }],
    ["a local http JWKS URL", { ...withoutKeys, IDENTITY_JWKS_URL: "http://localhost:8788/jwks.json" }],
    ["a loopback http JWKS URL", { ...withoutKeys, IDENTITY_JWKS_URL: "http://127.0.0.1:8788/jwks.json" }],
  ])("with %s are healthy", async (_what, settings) => {
    const { status, body } = await health(harness({ EDGEFLAGS_ENV: ENV, ...settings }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok", warnings: [] });
  });

  it("without any identity setting, leave Authorization unread and health ok", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV });
    expect((await h.fetch("/v1/flags", { headers: { authorization: "Bearer x" } })).status).toBe(200);
    expect((await health(h)).body.status).toBe("ok");
  });
});

describe("token lifetime", () => {
  const DAY = 24 * 60 * 60;
  it.each<[string, number, Partial<Env>, TokenOptions]>([
    ["a token without exp", 401, {}, { exp: null }],
    ["a token without exp or iat", 401, {}, { exp: null, iat: null }],
    ["a 5-minute token", 200, {}, {}],
    ["a token living exactly the default 24 h", 200, {}, { exp: DAY }],
    ["a token living 25 h (default 24 h)", 401, {}, { exp: 25 * 60 * 60 }],
    ["a 30-day token issued 29.5 days ago", 401, {}, { iat: -29.5 * DAY, exp: DAY / 2 }],
    ["a token without iat expiring within 24 h", 200, {}, { iat: null, exp: 23 * 60 * 60 }],
    ["a token without iat expiring in 25 h", 401, {}, { iat: null, exp: 25 * 60 * 60 }],
    [
      "a 1-hour token issued a year ahead (valid for a year)",
      401,
      {},
      { iat: 365 * DAY, exp: 365 * DAY + 3600 },
    ],
    ["a 5-minute token under a 10-minute maximum", 200, { IDENTITY_MAX_LIFETIME_SECONDS: "600" }, {}],
    [
      "a 15-minute token under a 10-minute maximum",
      401,
      { IDENTITY_MAX_LIFETIME_SECONDS: "600" },
      { exp: 900 },
    ],
    [
      "a 25-hour token under a 48-hour maximum",
      200,
      { IDENTITY_MAX_LIFETIME_SECONDS: "172800" },
      { exp: 25 * 3600 },
    ],
  ])("%s: %i", async (_what, expected, settings, opts) => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...IDENTITY, ...settings });
    const res = await h.fetch("/v1/flags", { headers: await bearer(opts) });
    expect(res.status).toBe(expected);
    if (expected === 401) {
      expect(await res.json()).toEqual({ error: "invalid_token", message: "the identity token is invalid" });
    }
  });
});

describe("gateway with identity misconfigured", () => {
  const logs: Record<string, unknown>[] = [];
  const gw = () =>
    gatewayHarness(
      GATEWAY_ENV,
      { ...IDENTITY, IDENTITY_AUDIENCE: "", DECISION_HEADER: "true" },
      { log: (e: Record<string, unknown>) => logs.push(e) },
    );

  it("cannot decide a gate for a request with a bearer token: the gate's fail policy applies", async () => {
    const res = await gw().fetch("/checkout/cart", { cf: US, headers: await bearer() });
    expect(res.status).toBe(451);
    expect(res.headers.get("x-edgeflags-decision")).toBe(
      "gate=geo-block; flag=checkout-geo; action=deny; reason=unavailable",
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        event: "gateway_identity_unavailable",
        error: expect.stringContaining("IDENTITY_AUDIENCE"),
      }),
    );
    const open = await gw().fetch("/ops/panel", { cf: US, headers: await bearer() });
    expect(open.status).toBe(200);
    expect(open.headers.get("x-edgeflags-decision")).toBe(
      "gate=ops; flag=ops-switch; action=pass; reason=fail-open",
    );
  });

  it("decides tokenless requests, and non-Bearer Authorization, as before", async () => {
    expect((await gw().fetch("/checkout/cart", { cf: US })).status).toBe(200);
    const basic = await gw().fetch("/checkout/cart", { cf: US, headers: { authorization: "Basic dTpw" } });
    expect(basic.status).toBe(200);
    expect(((await basic.json()) as Echo).headers.authorization).toBe("Basic dTpw");
  });

  it("passes ungated paths with the token on to the origin", async () => {
    const headers = await bearer();
    const res = await gw().fetch("/about", { cf: US, headers });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).headers.authorization).toBe(headers.authorization);
  });

  it("refuses a token on the API under the prefix, and shows in its /healthz", async () => {
    const res = await gw().fetch("/__edgeflags/v1/flags", { cf: US, headers: await bearer() });
    expect(res.status).toBe(500);
    const health = await gw().fetch("/__edgeflags/healthz");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "misconfigured" });
  });
});
