/**
 * Context from the request, inside workerd: geo only from the edge, the targeting-key precedence,
 * the anonymous cookie, verified identity, and untrusted attributes that cannot spoof either.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { harness, ofrepInit, publishToKv, snapshot } from "./helpers";

const ENV = "ctx";
beforeAll(async () => {
  await publishToKv(await snapshot({ environment: ENV, version: 1 }), ENV);
});

async function banner(res: Response): Promise<string> {
  return ((await res.json()) as { flags: Record<string, string> }).flags["banner-text"] as string;
}

describe("geo", () => {
  it("comes from request.cf", async () => {
    expect(
      await banner(
        await harness({ EDGEFLAGS_ENV: ENV }).fetch("/v1/flags?targetingKey=u", { cf: { country: "DE" } }),
      ),
    ).toBe("Hallo");
  });

  it("ignores a spoofed CF-IPCountry header when cf is present, even with the fallback on", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, GEO_HEADER_FALLBACK: "true" });
    const res = await h.fetch("/v1/flags?targetingKey=u", {
      cf: { country: "US" },
      headers: { "cf-ipcountry": "DE" },
    });
    expect(await banner(res)).toBe("Hello");
  });

  it("reads CF-IPCountry when cf has no country (local dev), only when configured", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, GEO_HEADER_FALLBACK: "true" });
    const res = await h.fetch("/v1/flags?targetingKey=u", {
      cf: { colo: "LCL" },
      headers: { "cf-ipcountry": "DE" },
    });
    expect(await banner(res)).toBe("Hallo");
    const off = await harness({ EDGEFLAGS_ENV: ENV }).fetch("/v1/flags?targetingKey=u", {
      cf: { colo: "LCL" },
      headers: { "cf-ipcountry": "DE" },
    });
    expect(await banner(off)).toBe("Hello");
  });

  it("reads CF-IPCountry only without cf and only when configured", async () => {
    const off = await harness({ EDGEFLAGS_ENV: ENV }).fetch("/v1/flags?targetingKey=u", {
      headers: { "cf-ipcountry": "DE" },
    });
    expect(await banner(off)).toBe("Hello");
    const on = await harness({ EDGEFLAGS_ENV: ENV, GEO_HEADER_FALLBACK: "true" }).fetch(
      "/v1/flags?targetingKey=u",
      {
        headers: { "cf-ipcountry": "DE" },
      },
    );
    expect(await banner(on)).toBe("Hallo");
  });

  it("cannot be set by client attributes (query or OFREP context)", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const q = await h.fetch("/v1/flags?targetingKey=u&geo.country=DE&country=DE", { cf: { country: "US" } });
    expect(await banner(q)).toBe("Hello");
    const o = await h.fetch(
      "/ofrep/v1/evaluate/flags/banner-text",
      ofrepInit(
        { targetingKey: "u", "geo.country": "DE", geo: { country: "DE" } },
        { cf: { country: "US" } },
      ),
    );
    expect(await o.json()).toMatchObject({ value: "Hello" });
  });
});

describe("targeting key", () => {
  // half-rollout splits by targeting key, so the reported variant follows the key that was used.
  async function keyUsed(res: Response): Promise<string> {
    return ((await res.json()) as { metadata: { ruleId: string }; key: string; variant: string }).variant;
  }

  it("follows the precedence: context > header > query > cookie", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const variantFor = async (key: string) =>
      keyUsed(await h.fetch("/ofrep/v1/evaluate/flags/half-rollout", ofrepInit({ targetingKey: key })));
    // Find two keys that land in different variants, so the test can tell which one was used.
    const keys = ["k-0", "k-1", "k-2", "k-3", "k-4", "k-5", "k-6", "k-7"];
    const variants = await Promise.all(keys.map(variantFor));
    const a = keys[variants.indexOf("on")] as string;
    const b = keys[variants.indexOf("off")] as string;
    expect(a && b).toBeTruthy();

    const viaHeader = await h.fetch(
      "/ofrep/v1/evaluate/flags/half-rollout",
      ofrepInit({ targetingKey: a }, { headers: { "x-targeting-key": b } }),
    );
    expect(await keyUsed(viaHeader)).toBe("on"); // context wins over header
    const headerOverQuery = await h.fetch(`/v1/flags/half-rollout?targetingKey=${a}`, {
      headers: { "x-targeting-key": b },
    });
    expect(((await headerOverQuery.json()) as { variant: string }).variant).toBe("off");
    const queryOverCookie = await h.fetch(`/v1/flags/half-rollout?targetingKey=${a}`, {
      headers: { cookie: `ef_id=${b}-padding` },
    });
    expect(((await queryOverCookie.json()) as { variant: string }).variant).toBe("on");
  });

  it("gives an anonymous browser visitor a stable id cookie, and reuses it", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const first = await h.fetch("/v1/flags?details=1", { headers: { "sec-fetch-site": "same-origin" } });
    const setCookie = first.headers.get("set-cookie") as string;
    expect(setCookie).toMatch(
      /^ef_id=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax$/,
    );
    const id = /ef_id=([^;]+)/.exec(setCookie)?.[1] as string;
    const second = await h.fetch("/v1/flags?details=1", { headers: { cookie: `other=1; ef_id=${id}` } });
    expect(second.headers.get("set-cookie")).toBeNull();
    const explicit = await h.fetch(`/v1/flags?details=1&targetingKey=${id}`);
    expect(await second.json()).toEqual(await explicit.json());
  });

  // Who gets a new anonymous id: only a browser that will keep the cookie. Everyone else would get
  // a new id (and new buckets) on every call, so a split would flip between calls.
  const CROSS_SITE_CREDENTIALS = { CORS_ORIGINS: "https://app.example", ANON_COOKIE_SAMESITE: "None" };
  it.each<[string, Record<string, string>, Record<string, string>, boolean]>([
    ["a same-origin fetch", {}, { "sec-fetch-site": "same-origin" }, true],
    [
      "a same-site fetch under CORS_ORIGINS=*",
      {},
      { "sec-fetch-site": "same-site", origin: "https://app.example" },
      false,
    ],
    [
      "a same-site fetch from a listed origin",
      { CORS_ORIGINS: "https://app.example" },
      { "sec-fetch-site": "same-site", origin: "https://app.example" },
      true,
    ],
    ["a page the visitor opened directly", {}, { "sec-fetch-site": "none" }, true],
    [
      "a cross-site fetch under CORS_ORIGINS=*",
      {},
      { "sec-fetch-site": "cross-site", origin: "https://app.example" },
      false,
    ],
    [
      "a cross-site fetch from a listed origin, SameSite=None",
      CROSS_SITE_CREDENTIALS,
      { "sec-fetch-site": "cross-site", origin: "https://app.example" },
      true,
    ],
    [
      "a cross-site fetch from an unlisted origin",
      CROSS_SITE_CREDENTIALS,
      { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
      false,
    ],
    [
      "a cross-site fetch from a listed origin, SameSite=Lax",
      { CORS_ORIGINS: "https://app.example" },
      { "sec-fetch-site": "cross-site", origin: "https://app.example" },
      false,
    ],
    ["curl or a back-end (no Sec-Fetch-Site)", {}, {}, false],
    [
      "a back-end with an API key, even from a browser",
      {},
      { "sec-fetch-site": "same-origin", "x-api-key": "test-server-key" },
      false,
    ],
  ])("%s: a new anonymous id only where the cookie is kept", async (_name, settings, headers, invents) => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...settings });
    const res = await h.fetch("/v1/flags?details=1", { headers });
    expect(res.headers.get("set-cookie") !== null).toBe(invents);
    const { flags } = (await res.json()) as { flags: Record<string, { variant?: string }> };
    // The split needs a key: with none it is left out (code default), never a random bucket.
    expect(flags["half-rollout"] !== undefined).toBe(invents);
    // A key-independent flag is served either way.
    expect(flags["banner-text"]?.variant).toBeDefined();
  });

  it("makes a cross-site (SameSite=None) cookie Partitioned, so browsers that block third-party cookies keep it", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...CROSS_SITE_CREDENTIALS });
    const res = await h.fetch("/v1/flags", {
      headers: { "sec-fetch-site": "cross-site", origin: "https://app.example" },
    });
    expect(res.headers.get("set-cookie")).toMatch(
      /^ef_id=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; Secure; SameSite=None; Partitioned$/,
    );
  });

  it("answers a server caller without a key TARGETING_KEY_MISSING, the same on every call, no cookie", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV });
    for (const headers of [{}, { "x-api-key": "test-server-key" }] as Record<string, string>[]) {
      for (let i = 0; i < 3; i++) {
        const res = await h.fetch("/ofrep/v1/evaluate/flags/half-rollout", ofrepInit({}, { headers }));
        expect(res.status).toBe(400);
        expect(res.headers.get("set-cookie")).toBeNull();
        expect(await res.json()).toMatchObject({ key: "half-rollout", errorCode: "TARGETING_KEY_MISSING" });
      }
    }
  });

  it("sets no cookie when ANON_COOKIE is off", async () => {
    const res = await harness({ EDGEFLAGS_ENV: ENV, ANON_COOKIE: "off" }).fetch("/v1/flags");
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});

describe("identity", () => {
  let token: (
    claims: Record<string, unknown>,
    opts?: { iss?: string; aud?: string; exp?: string },
  ) => Promise<string>;
  let settings: Record<string, string>;
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "ES256" };
    settings = {
      IDENTITY_ISSUER: "https://idp.example",
      IDENTITY_AUDIENCE: "edgeflags",
      IDENTITY_JWKS: JSON.stringify({ keys: [jwk] }),
    };
    token = (claims, opts = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
        .setIssuer(opts.iss ?? "https://idp.example")
        .setAudience(opts.aud ?? "edgeflags")
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? "5m")
        .sign(privateKey);
  });

  const adminPanel = (
    h: ReturnType<typeof harness>,
    headers: Record<string, string>,
    context = { targetingKey: "ctx-key" },
  ) =>
    h.fetch(
      "/ofrep/v1/evaluate/flags/admin-panel",
      ofrepInit(context, { headers: { "x-api-key": "test-server-key", ...headers } }),
    );

  it("turns a verified token's claims into trusted attributes and its sub into the targeting key", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...settings });
    const res = await adminPanel(h, {
      authorization: `Bearer ${await token({ sub: "alice", role: "admin" })}`,
    });
    expect(await res.json()).toMatchObject({ value: true, metadata: { ruleId: "admins" } });
  });

  it("never lets a client attribute stand in for a claim", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...settings });
    const res = await adminPanel(h, {}, {
      targetingKey: "x",
      "identity.role": "admin",
      role: "admin",
    } as never);
    expect(await res.json()).toMatchObject({ value: false });
  });

  it.each([
    ["a wrong issuer", { iss: "https://evil.example" }],
    ["a wrong audience", { aud: "someone-else" }],
    ["an expired token", { exp: "-10m" }],
  ])("rejects %s with 401", async (_what, opts) => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...settings });
    const bad = await token({ sub: "mallory", role: "admin" }, opts);
    const res = await h.fetch("/v1/flags", { headers: { authorization: `Bearer ${bad}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "invalid_token", message: "the identity token is invalid" });
    const ofrep = await adminPanel(h, { authorization: `Bearer ${bad}` });
    expect(ofrep.status).toBe(401);
    expect(await ofrep.json()).toMatchObject({ errorCode: "GENERAL" });
  });

  it("rejects a malformed Authorization header and a garbage token", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, ...settings });
    expect((await h.fetch("/v1/flags", { headers: { authorization: "Basic abc" } })).status).toBe(401);
    expect((await h.fetch("/v1/flags", { headers: { authorization: "Bearer not.a.jwt" } })).status).toBe(401);
  });

  it("does not read Authorization when identity is not configured", async () => {
    const res = await harness({ EDGEFLAGS_ENV: ENV }).fetch("/v1/flags", {
      headers: { authorization: "Bearer whatever" },
    });
    expect(res.status).toBe(200);
  });
});
