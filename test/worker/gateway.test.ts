/** Gateway decisions in workerd with a real origin worker: geo gates, actions, precedence, fail policy, API prefix. */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type Echo, GATEWAY_VERSION, gatewayFlags, gatewayHarness, publishGateway } from "./gateway-helpers";
import { fixtureKeys, signer } from "./helpers";

const ENV = "gateway";
beforeAll(() => publishGateway(ENV));
const gw = (overrides = {}, options = {}) => gatewayHarness(ENV, overrides, options);
const US = { country: "US", continent: "NA", colo: "SJC" };
const RU = { country: "RU", continent: "EU", colo: "FRA" };
const DE = { country: "DE", continent: "EU", colo: "FRA" };

describe("geo gate", () => {
  it("lets an allowed country through to the origin", async () => {
    const res = await gw().fetch("/checkout/cart", { cf: US });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(new URL(echo.url).pathname).toBe("/checkout/cart");
  });

  it("answers a blocked country at the edge with the gate's 451 and body, privately", async () => {
    const res = await gw().fetch("/checkout/cart", { cf: RU });
    expect(res.status).toBe(451);
    expect(await res.text()).toBe("Checkout is not available in your country.");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("x-origin")).toBeNull();
  });

  it("ignores a spoofed CF-IPCountry header when the edge knows the country", async () => {
    const h = gw({ GEO_HEADER_FALLBACK: "true" });
    const blocked = await h.fetch("/checkout/cart", { cf: RU, headers: { "cf-ipcountry": "US" } });
    expect(blocked.status).toBe(451);
    const allowed = await h.fetch("/checkout/cart", { cf: US, headers: { "cf-ipcountry": "RU" } });
    expect(allowed.status).toBe(200);
  });

  it("leaves ungated paths alone for blocked countries", async () => {
    const res = await gw().fetch("/about", { cf: RU });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-origin")).toBe("echo");
  });
});

describe("actions and precedence", () => {
  it("answers JSON from the more specific, method-limited gate, and the general gate for other methods", async () => {
    const post = await gw().fetch("/checkout/api/pay", { method: "POST", body: "{}", cf: RU });
    expect(post.status).toBe(403);
    expect(post.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await post.json()).toEqual({ error: "geo_blocked" });
    const get = await gw().fetch("/checkout/api/pay", { cf: RU });
    expect(get.status).toBe(451);
  });

  it("redirects with the gate's status, without touching the origin", async () => {
    for (const path of ["/promo", "/promo/summer"]) {
      const res = await gw().fetch(path, { cf: US, redirect: "manual" });
      expect(res.status, path).toBe(307);
      expect(res.headers.get("location")).toBe("https://example.com/promo-intl");
    }
    const eu = await gw().fetch("/promo/summer", { cf: DE });
    expect(eu.status).toBe(200);
  });

  it("rewrites to another origin path when the more specific pattern decides", async () => {
    const res = await gw().fetch("/promo/special/7?utm=x", { cf: US });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    const url = new URL(echo.url);
    expect(url.pathname + url.search).toBe("/fallback/promo?from=gate");
    const eu = (await (await gw().fetch("/promo/special/7?utm=x", { cf: DE })).json()) as Echo;
    expect(new URL(eu.url).pathname + new URL(eu.url).search).toBe("/promo/special/7?utm=x");
  });

  it("lets a host-specific gate beat any-host gates on its host only", async () => {
    const onAdmin = await gw().fetch("https://admin.example.test/checkout/cart", { cf: RU });
    expect(onAdmin.status).toBe(404);
    const onAdminUS = await gw().fetch("https://admin.example.test/about", { cf: US });
    expect(onAdminUS.status).toBe(404);
    const elsewhere = await gw().fetch("https://shop.example.test/about", { cf: US });
    expect(elsewhere.status).toBe(200);
  });

  it("cannot be bypassed with percent-encoded letters or doubled slashes", async () => {
    for (const path of ["/%63heckout/cart", "//checkout/cart", "/checkout//cart", "/x/../checkout/cart"]) {
      const res = await gw().fetch(`https://shop.example.test${path}`, { cf: RU });
      expect(res.status, path).toBe(451);
    }
  });

  it("treats GET gates as HEAD gates and answers HEAD without a body", async () => {
    const res = await gw().fetch("/checkout/cart", { method: "HEAD", cf: RU });
    expect(res.status).toBe(451);
    expect(await res.text()).toBe("");
  });
});

describe("identity", () => {
  const identity = {
    IDENTITY_ISSUER: "https://id.example.test",
    IDENTITY_AUDIENCE: "shop",
    IDENTITY_JWKS: JSON.stringify({ keys: [fixtureKeys.primary.public] }),
  };
  const token = async (role: string) =>
    new SignJWT({ role })
      .setProtectedHeader({ alg: "EdDSA", kid: fixtureKeys.primary.public.kid })
      .setIssuer(identity.IDENTITY_ISSUER)
      .setAudience(identity.IDENTITY_AUDIENCE)
      .setSubject("user-1")
      .setExpirationTime("5m")
      .sign((await signer()).key);

  it("uses a verified identity for gate decisions", async () => {
    const h = gw(identity);
    const admin = await h.fetch("https://admin.example.test/dash", {
      cf: US,
      headers: { authorization: `Bearer ${await token("admin")}` },
    });
    expect(admin.status).toBe(200);
    const user = await h.fetch("https://admin.example.test/dash", {
      cf: US,
      headers: { authorization: `Bearer ${await token("user")}` },
    });
    expect(user.status).toBe(404);
  });

  it("never answers 401 for a token meant for the origin: it passes on, unverified and untouched", async () => {
    const logs: Record<string, unknown>[] = [];
    const h = gw(identity, { log: (e: Record<string, unknown>) => logs.push(e) });
    const res = await h.fetch("/checkout/cart", { cf: US, headers: { authorization: "Bearer not-a-jwt" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).headers.authorization).toBe("Bearer not-a-jwt");
    expect(logs.some((e) => e.event === "gateway_identity_ignored")).toBe(true);
    const blocked = await h.fetch("/checkout/cart", { cf: RU, headers: { authorization: "Bearer x" } });
    expect(blocked.status).toBe(451);
  });
});

describe("fail policy", () => {
  const EXPIRING = "gateway-expiring";
  const expiresAt = Date.now() + 60_000;
  beforeAll(() => publishGateway(EXPIRING, new Date(expiresAt).toISOString()));

  /** A harness whose clock jumps past the snapshot's expiry after it is loaded. */
  async function expired(overrides = {}) {
    let now = Date.now();
    const h = gatewayHarness(EXPIRING, { DECISION_HEADER: "true", ...overrides }, { now: () => now });
    expect((await h.fetch("/checkout/cart", { cf: US })).status).toBe(200);
    now = expiresAt + 1000;
    return h;
  }

  it("treats an expired snapshot like none at all: by default every page gets a 503, gated or not", async () => {
    const h = await expired();
    for (const path of ["/release/notes", "/checkout/cart", "/ops/panel", "/about"]) {
      const res = await h.fetch(path, { cf: US });
      expect(res.status).toBe(503);
      expect(res.headers.get("x-edgeflags-decision")).toBe("action=deny; reason=no-snapshot");
    }
  });

  it("with GATEWAY_NO_SNAPSHOT=pass, passes an expired snapshot's pages ungated and sends no flags", async () => {
    const h = await expired({ GATEWAY_NO_SNAPSHOT: "pass" });
    const res = await h.fetch("/checkout/cart", { cf: RU });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeflags-decision")).toBe("action=pass; reason=no-snapshot");
    expect(((await res.json()) as Echo).headers["x-edgeflags-flags"]).toBeUndefined();
  });

  it("with no snapshot at all denies by default (503), and the API still answers", async () => {
    const h = gatewayHarness("gateway-none", { DECISION_HEADER: "true" });
    const res = await h.fetch("/checkout/cart", { cf: RU });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("x-edgeflags-decision")).toBe("action=deny; reason=no-snapshot");
    const health = await h.fetch("/__edgeflags/healthz");
    expect(health.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("with no snapshot and GATEWAY_NO_SNAPSHOT=pass passes everything, and strips a client-sent flags header", async () => {
    const h = gatewayHarness("gateway-none", { DECISION_HEADER: "true", GATEWAY_NO_SNAPSHOT: "pass" });
    const res = await h.fetch("/checkout/cart", { cf: RU, headers: { "x-edgeflags-flags": '{"spoof":1}' } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeflags-decision")).toBe("action=pass; reason=no-snapshot");
    expect(((await res.json()) as Echo).headers["x-edgeflags-flags"]).toBeUndefined();
  });
});

describe("API under the prefix", () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      "ORIGIN_URL, no binding",
      { ORIGIN: undefined, ORIGIN_URL: "https://origin.example:8443/base" },
      { origin: "https://origin.example:8443" },
    ],
    ["neither", { ORIGIN: undefined }, { origin: "the route's own origin" }],
    [
      "a bad ORIGIN_URL and no binding",
      { ORIGIN: undefined, ORIGIN_URL: "not a url" },
      { origin: null, error: expect.stringContaining("ORIGIN_URL") },
    ],
  ])("says in /healthz which origin it uses: %s", async (_what, overrides, expected) => {
    const health = await gw(overrides).fetch("/__edgeflags/healthz");
    expect(((await health.json()) as { gateway: unknown }).gateway).toEqual({
      enabled: true,
      apiPrefix: "/__edgeflags",
      gates: gatewayFlags.gates!.length,
      ...expected,
    });
  });

  it("serves /v1/flags, /healthz and OFREP under /__edgeflags, and sends /v1/flags itself to the origin", async () => {
    const flags = await gw().fetch("/__edgeflags/v1/flags?targetingKey=u1", { cf: RU });
    expect(flags.status).toBe(200);
    const body = (await flags.json()) as { version: number; flags: Record<string, unknown> };
    expect(body.version).toBe(GATEWAY_VERSION);
    expect(body.flags["checkout-geo"]).toBe(false);
    const health = await gw().fetch("/__edgeflags/healthz");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { gateway: unknown }).gateway).toEqual({
      enabled: true,
      apiPrefix: "/__edgeflags",
      gates: gatewayFlags.gates!.length,
      origin: "ORIGIN binding",
    });
    const ofrep = await gw().fetch("/__edgeflags/ofrep/v1/evaluate/flags/eu-promo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: "u1" } }),
      cf: DE,
    });
    expect(await ofrep.json()).toMatchObject({ key: "eu-promo", value: "eu" });
    const unprefixed = await gw().fetch("/v1/flags", { cf: US });
    expect(unprefixed.headers.get("x-origin")).toBe("echo");
    const unknown = await gw().fetch("/__edgeflags/nope");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "not_found" });
  });

  it("honours a custom API_PREFIX and keeps the API at the root when the gateway is off", async () => {
    const custom = gw({ API_PREFIX: "/_ef/" });
    expect((await custom.fetch("/_ef/v1/flags", { cf: US })).headers.get("content-type")).toMatch(/json/);
    expect((await custom.fetch("/__edgeflags/v1/flags", { cf: US })).headers.get("x-origin")).toBe("echo");
    const off = gw({ GATEWAY: "false" });
    const res = await off.fetch("/v1/flags", { cf: US });
    expect(((await res.json()) as { version: number }).version).toBe(GATEWAY_VERSION);
    expect((await off.fetch("/checkout/cart", { cf: RU })).status).toBe(404);
  });
});

describe("observability", () => {
  it("names the deciding gate in X-Edgeflags-Decision only when DECISION_HEADER=true", async () => {
    const on = await gw({ DECISION_HEADER: "true" }).fetch("/checkout/cart", { cf: RU });
    expect(on.headers.get("x-edgeflags-decision")).toBe(
      "gate=geo-block; flag=checkout-geo; variant=off; action=deny; reason=variant",
    );
    const pass = await gw({ DECISION_HEADER: "true" }).fetch("/checkout/cart", { cf: US });
    expect(pass.headers.get("x-edgeflags-decision")).toBe(
      "gate=geo-block; flag=checkout-geo; variant=on; action=pass; reason=allowed",
    );
    const none = await gw({ DECISION_HEADER: "true" }).fetch("/about", { cf: US });
    expect(none.headers.get("x-edgeflags-decision")).toBe("action=pass");
    const off = await gw().fetch("/checkout/cart", { cf: RU });
    expect(off.headers.get("x-edgeflags-decision")).toBeNull();
  });

  it("logs one structured line per denial", async () => {
    const logs: Record<string, unknown>[] = [];
    await gw({}, { log: (e: Record<string, unknown>) => logs.push(e) }).fetch("/checkout/cart?secret=1", {
      cf: RU,
    });
    expect(logs.filter((e) => e.event === "gate_denied")).toEqual([
      {
        event: "gate_denied",
        gate: "geo-block",
        flag: "checkout-geo",
        variant: "off",
        action: "deny",
        reason: "variant",
        status: 451,
        method: "GET",
        path: "/checkout/cart",
        country: "RU",
        colo: "FRA",
        version: GATEWAY_VERSION,
      },
    ]);
  });

  it("answers 502 when the origin cannot be reached, logging why", async () => {
    const logs: Record<string, unknown>[] = [];
    const broken = { fetch: () => Promise.reject(new Error("connection refused")) } as unknown as Fetcher;
    const res = await gw({ ORIGIN: broken }, { log: (e: Record<string, unknown>) => logs.push(e) }).fetch(
      "/about",
      {
        cf: US,
      },
    );
    expect(res.status).toBe(502);
    expect(logs.find((e) => e.event === "gateway_origin_failed")?.error).toMatch(/connection refused/);
  });
});
