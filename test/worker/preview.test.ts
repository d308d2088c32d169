/**
 * Preview links in workerd (src/preview, src/http/preview.ts): a token signed by a preview-role key
 * serves its variants (reason PREVIEW) through the query and the cookie, on /v1/flags, OFREP and the
 * gateway; everything else is ignored silently: expired, tampered, other environment, keys without the
 * role or revoked, flags out of the key's scope, permission flags, geo restrictions, another targeting
 * key, unknown variants, killed flags. Cookie attributes, and that no cache mixes preview answers
 * with normal ones.
 */
import { base64url } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import type { Env } from "../../src/http/env";
import type { PolicyFile } from "../../src/policy/policy";
import { signPreviewToken } from "../../src/preview/sign";
import type { PreviewPayload } from "../../src/preview/token";
import { originBinding } from "./gateway-helpers";
import { type Harness, harness, ofrepInit } from "./helpers";
import { POLICY_JWKS, type PolicyKid, policyEnv, policySigner, policySnapshot } from "./policy-helpers";
import { publishLegit } from "./trust-helpers";

/** Checkout flags are the QA key's scope; search is not. team-web may preview but is revoked. */
const POLICY: PolicyFile = {
  keys: {
    "ci-publisher": { roles: ["publisher"] },
    alice: { roles: ["approver"] },
    "qa-preview": { roles: ["preview"], scope: ["tag:checkout"] },
    "team-web": { roles: ["preview"] },
  },
  revoked: ["team-web"],
};

const DOC: FlagsDocument = {
  flags: {
    "checkout-v2": { tags: ["checkout"], clientVisible: true, fallthrough: "off" },
    "checkout-theme": {
      tags: ["checkout"],
      clientVisible: true,
      variants: { classic: "classic", dark: "dark" },
      fallthrough: "classic",
    },
    "checkout-geo": {
      tags: ["checkout"],
      clientVisible: true,
      geo: { block: { countries: ["RU"] } },
      fallthrough: "on",
    },
    "checkout-after-geo": {
      tags: ["checkout"],
      clientVisible: true,
      prerequisites: [{ flag: "checkout-geo", variants: ["on"] }],
      fallthrough: "off",
    },
    "checkout-admin": { kind: "permission", tags: ["checkout"], clientVisible: true, fallthrough: "off" },
    "checkout-killed": { tags: ["checkout"], clientVisible: true, enabled: false, fallthrough: "on" },
    "checkout-later": {
      tags: ["checkout"],
      clientVisible: true,
      schedule: { from: "2099-01-01T00:00:00Z" },
      fallthrough: "on",
    },
    "search-v2": { tags: ["search"], clientVisible: true, fallthrough: "off" },
    "checkout-server": { tags: ["checkout"], fallthrough: "off" },
  },
  gates: [
    { id: "checkout", pattern: "/checkout/*", flag: "checkout-v2", allow: ["on"], deny: { status: 403 } },
    { id: "admin", pattern: "/admin/*", flag: "checkout-admin", allow: ["on"], deny: { status: 404 } },
    { id: "geo", pattern: "/geo/*", flag: "checkout-geo", allow: ["on"], deny: { status: 451 } },
  ],
};

const ENV = "preview-test";
const US = { country: "US", continent: "NA" };
const RU = { country: "RU", continent: "EU" };

beforeAll(async () => {
  await publishLegit(ENV, 1, await policySnapshot(DOC, ENV, { version: 1 }));
});

const app = (extra: Partial<Env> = {}) => harness({ ...policyEnv(ENV, POLICY), ...extra });

interface TokenSpec {
  flags: Record<string, string>;
  kid?: PolicyKid;
  environment?: string;
  /** Seconds from now. */
  iat?: number;
  exp?: number;
  sub?: string;
  tamper?: boolean;
}

async function token(spec: TokenSpec): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: PreviewPayload = {
    environment: spec.environment ?? ENV,
    flags: spec.flags,
    iat: now + (spec.iat ?? 0),
    exp: now + (spec.exp ?? 7200),
    ...(spec.sub === undefined ? {} : { sub: spec.sub }),
  };
  const jws = await signPreviewToken(payload, await policySigner(spec.kid ?? "qa-preview"));
  if (!spec.tamper) return jws;
  const [h, , s] = jws.split(".") as [string, string, string];
  const forged = { ...payload, flags: { ...payload.flags, "search-v2": "on" } };
  return `${h}.${base64url.encode(JSON.stringify(forged))}.${s}`;
}

interface Single {
  value: unknown;
  variant: string;
  reason: string;
  ruleId?: string;
}

async function single(
  h: Harness,
  flag: string,
  init: { query?: string; cookie?: string; cf?: Record<string, unknown>; key?: string },
) {
  const q = new URLSearchParams({ targetingKey: init.key ?? "qa-1" });
  if (init.query !== undefined) q.set("ef_preview", init.query);
  const res = await h.fetch(`/v1/flags/${flag}?${q}`, {
    cf: init.cf ?? US,
    headers: init.cookie ? { cookie: `ef_preview=${init.cookie}` } : {},
  });
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as Single };
}

describe("which overrides apply", () => {
  const cases: {
    name: string;
    flag: string;
    spec: TokenSpec;
    cf?: Record<string, unknown>;
    key?: string;
    expected: Partial<Single>;
  }[] = [
    {
      name: "in scope",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" } },
      expected: { value: true, variant: "on", reason: "PREVIEW" },
    },
    {
      name: "a string variant",
      flag: "checkout-theme",
      spec: { flags: { "checkout-theme": "dark" } },
      expected: { value: "dark", variant: "dark", reason: "PREVIEW" },
    },
    {
      name: "a flag not yet scheduled (what previews are for)",
      flag: "checkout-later",
      spec: { flags: { "checkout-later": "on" } },
      expected: { value: true, reason: "PREVIEW" },
    },
    {
      name: "a geo-restricted flag, for a visitor outside the restriction",
      flag: "checkout-geo",
      spec: { flags: { "checkout-geo": "off" } },
      expected: { value: false, reason: "PREVIEW" },
    },
    {
      name: "a flag requiring a geo-restricted one, outside the restriction",
      flag: "checkout-after-geo",
      spec: { flags: { "checkout-after-geo": "on" } },
      expected: { value: true, reason: "PREVIEW" },
    },
    {
      name: "bound to this targeting key",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, sub: "qa-1" },
      expected: { value: true, reason: "PREVIEW" },
    },
    {
      name: "expired",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, iat: -7200, exp: -1 },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "tampered",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, tamper: true },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "for another environment",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, environment: "production" },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "signed by an approver key",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, kid: "alice" },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "signed by a publisher key",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, kid: "ci-publisher" },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "signed by a revoked preview key",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, kid: "team-web" },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "out of the key's scope",
      flag: "search-v2",
      spec: { flags: { "search-v2": "on" } },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "a permission flag",
      flag: "checkout-admin",
      spec: { flags: { "checkout-admin": "on" } },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "a geo-blocked visitor",
      flag: "checkout-geo",
      spec: { flags: { "checkout-geo": "on" } },
      cf: RU,
      expected: { value: false, reason: "TARGETING_MATCH", ruleId: "geo" },
    },
    {
      name: "a flag requiring a geo-restricted one, for a blocked visitor",
      flag: "checkout-after-geo",
      spec: { flags: { "checkout-after-geo": "on" } },
      cf: RU,
      expected: { value: false, ruleId: "prerequisite:checkout-geo" },
    },
    {
      name: "bound to another targeting key",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, sub: "qa-2" },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "an unknown variant",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "maybe" } },
      expected: { value: false, reason: "STATIC" },
    },
    {
      name: "a killed flag",
      flag: "checkout-killed",
      spec: { flags: { "checkout-killed": "on" } },
      expected: { value: false, reason: "DISABLED" },
    },
    {
      name: "living longer than 7 days",
      flag: "checkout-v2",
      spec: { flags: { "checkout-v2": "on" }, exp: 7 * 86400 + 120 },
      expected: { value: false, reason: "STATIC" },
    },
  ];

  for (const c of cases) {
    const applies = c.expected.reason === "PREVIEW";
    it(`${c.name}: ${applies ? "applied" : "ignored"}, from the query and from the cookie`, async () => {
      const h = app();
      const t = await token(c.spec);
      const viaQuery = await single(h, c.flag, { query: t, cf: c.cf, key: c.key });
      expect(viaQuery.body).toMatchObject(c.expected);
      const viaCookie = await single(h, c.flag, { cookie: t, cf: c.cf, key: c.key });
      expect(viaCookie.body).toMatchObject(c.expected);
    });
  }

  it("a lifetime PREVIEW_MAX_LIFETIME_SECONDS does not allow is ignored", async () => {
    const h = app({ PREVIEW_MAX_LIFETIME_SECONDS: "3600" });
    const { body } = await single(h, "checkout-v2", {
      query: await token({ flags: { "checkout-v2": "on" } }),
    });
    expect(body.reason).toBe("STATIC");
    const short = await token({ flags: { "checkout-v2": "on" }, exp: 1800 });
    expect((await single(h, "checkout-v2", { query: short })).body.reason).toBe("PREVIEW");
  });

  it("without a policy, tokens are neither read nor answered with a cookie", async () => {
    const h = harness({ EDGEFLAGS_ENV: ENV, EDGEFLAGS_PUBLIC_KEYS: POLICY_JWKS });
    const { res, body } = await single(h, "checkout-v2", {
      query: await token({ flags: { "checkout-v2": "on" } }),
    });
    expect(body.reason).toBe("STATIC");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
  });

  it("a policy with no usable preview key ignores tokens the same way", async () => {
    const policy: PolicyFile = {
      keys: { "ci-publisher": { roles: ["publisher"] }, "team-web": { roles: ["preview"] } },
      revoked: ["team-web"],
    };
    const h = harness(policyEnv(ENV, policy));
    const { res, body } = await single(h, "checkout-v2", { query: "garbage" });
    expect(body.reason).toBe("STATIC");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("applies in bulk: GET /v1/flags (compact and details) and OFREP bulk and single", async () => {
    const h = app();
    const t = await token({ flags: { "checkout-v2": "on", "checkout-theme": "dark", "search-v2": "on" } });
    const compact = (await (
      await h.fetch(`/v1/flags?targetingKey=qa-1&ef_preview=${t}`, { cf: US })
    ).json()) as {
      flags: Record<string, unknown>;
    };
    expect(compact.flags).toMatchObject({
      "checkout-v2": true,
      "checkout-theme": "dark",
      "search-v2": false,
    });
    expect(compact.flags).not.toHaveProperty("checkout-server");
    expect(compact.flags).not.toHaveProperty("ef_preview");
    const details = (await (
      await h.fetch("/v1/flags?targetingKey=qa-1&details=1", {
        cf: US,
        headers: { cookie: `ef_preview=${t}` },
      })
    ).json()) as { flags: Record<string, Single> };
    expect(details.flags["checkout-v2"]).toMatchObject({ value: true, reason: "PREVIEW" });
    expect(details.flags["search-v2"]).toMatchObject({ value: false, reason: "STATIC" });

    const ofrep = await h.fetch(
      `/ofrep/v1/evaluate/flags?ef_preview=${t}`,
      ofrepInit({ targetingKey: "qa-1" }, { cf: US }),
    );
    const bulk = (await ofrep.json()) as { flags: { key: string; reason: string; value: unknown }[] };
    expect(bulk.flags.find((f) => f.key === "checkout-theme")).toMatchObject({
      value: "dark",
      reason: "PREVIEW",
    });
    expect(ofrep.headers.get("cache-control")).toBe("private, no-store");

    const one = await h.fetch(
      "/ofrep/v1/evaluate/flags/checkout-v2",
      ofrepInit({ targetingKey: "qa-1" }, { cf: US, headers: { cookie: `ef_preview=${t}` } }),
    );
    expect(await one.json()).toMatchObject({
      key: "checkout-v2",
      value: true,
      variant: "on",
      reason: "PREVIEW",
    });
    expect(one.headers.get("cache-control")).toBe("private, no-store");
  });

  it("server-only flags stay hidden from front-ends, preview or not", async () => {
    const h = app();
    const t = await token({ flags: { "checkout-server": "on" } });
    const res = await h.fetch(`/v1/flags/checkout-server?targetingKey=qa-1&ef_preview=${t}`, { cf: US });
    expect(res.status).toBe(404);
    const withKey = await h.fetch(`/v1/flags/checkout-server?targetingKey=qa-1&ef_preview=${t}`, {
      cf: US,
      headers: { "x-api-key": "test-server-key" },
    });
    expect(await withKey.json()).toMatchObject({ value: true, reason: "PREVIEW" });
  });
});

describe("the cookie", () => {
  const attributes = (header: string | null) => (header ?? "").split(";").map((p) => p.trim());

  it("a valid token in the query sets it until the token expires: HttpOnly, Secure, SameSite=Lax", async () => {
    const t = await token({ flags: { "checkout-v2": "on" }, exp: 7200 });
    const { res } = await single(app(), "checkout-v2", { query: t });
    const parts = attributes(res.headers.get("set-cookie"));
    expect(parts[0]).toBe(`ef_preview=${t}`);
    expect(parts).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]));
    expect(parts).not.toContain("Partitioned");
    const maxAge = Number(parts.find((p) => p.startsWith("Max-Age="))?.slice(8));
    expect(maxAge).toBeGreaterThan(7100);
    expect(maxAge).toBeLessThanOrEqual(7200);
  });

  it("is SameSite=None and Partitioned where the anonymous-id cookie is cross-site", async () => {
    const t = await token({ flags: { "checkout-v2": "on" } });
    const { res } = await single(app({ ANON_COOKIE_SAMESITE: "None" }), "checkout-v2", { query: t });
    expect(attributes(res.headers.get("set-cookie"))).toEqual(
      expect.arrayContaining(["SameSite=None", "Partitioned", "Secure", "HttpOnly"]),
    );
  });

  it("sits next to a new anonymous-id cookie", async () => {
    const t = await token({ flags: { "checkout-v2": "on" } });
    const res = await app().fetch(`/v1/flags?ef_preview=${t}`, {
      cf: US,
      headers: { "sec-fetch-site": "none" },
    });
    const cookies = res.headers.getAll("set-cookie");
    expect(cookies.map((c: string) => c.split("=")[0]).sort()).toEqual(["ef_id", "ef_preview"]);
  });

  const clearing: [string, () => Promise<string>][] = [
    ["garbage", async () => "garbage"],
    ["an expired token", () => token({ flags: { "checkout-v2": "on" }, iat: -7200, exp: -1 })],
    ["a tampered token", () => token({ flags: { "checkout-v2": "on" }, tamper: true })],
    [
      "a token of a key without the preview role",
      () => token({ flags: { "checkout-v2": "on" }, kid: "alice" }),
    ],
    ["an empty value (ends a preview)", async () => ""],
  ];
  it.each(clearing)("%s in the query clears it, and the request is evaluated normally", async (_n, make) => {
    const valid = await token({ flags: { "checkout-v2": "on" } });
    const { res, body } = await single(app(), "checkout-v2", { query: await make(), cookie: valid });
    expect(body.reason).toBe("STATIC");
    const parts = attributes(res.headers.get("set-cookie"));
    expect(parts[0]).toBe("ef_preview=");
    expect(parts).toEqual(
      expect.arrayContaining(["Max-Age=0", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"]),
    );
  });

  it("a cookie that no longer verifies is cleared; a valid one is not set again", async () => {
    const revoked = await token({ flags: { "checkout-v2": "on" }, kid: "team-web" });
    const { res } = await single(app(), "checkout-v2", { cookie: revoked });
    expect(attributes(res.headers.get("set-cookie"))).toContain("Max-Age=0");
    const valid = await token({ flags: { "checkout-v2": "on" } });
    const again = await single(app(), "checkout-v2", { cookie: valid });
    expect(again.res.headers.get("set-cookie")).toBeNull();
  });

  it("an invalid token is never an error for the visitor, on any route", async () => {
    const h = app();
    for (const path of [
      "/v1/flags?ef_preview=x.y.z",
      "/v1/flags/checkout-v2?ef_preview=%00",
      "/healthz?ef_preview=1",
    ]) {
      expect((await h.fetch(path, { cf: US })).status).toBe(200);
    }
    const res = await h.fetch(
      "/ofrep/v1/evaluate/flags?ef_preview=bad",
      ofrepInit({ targetingKey: "u" }, { cf: US }),
    );
    expect(res.status).toBe(200);
  });
});

describe("caching", () => {
  it("preview answers are not stored and their ETags never match normal ones", async () => {
    const h = app();
    const normal = await h.fetch("/v1/flags?targetingKey=qa-1", { cf: US });
    const normalTag = normal.headers.get("etag") as string;
    expect(normal.headers.get("cache-control")).toBe("private, no-cache");
    expect(normalTag).not.toMatch(/preview/);

    // A token whose only override is out of scope: the body is the normal one, the answer is not.
    const t = await token({ flags: { "search-v2": "on" } });
    const cookie = { cookie: `ef_preview=${t}` };
    const same = await h.fetch("/v1/flags?targetingKey=qa-1", {
      cf: US,
      headers: { ...cookie, "if-none-match": normalTag },
    });
    expect(same.status).toBe(200);
    expect(same.headers.get("cache-control")).toBe("private, no-store");
    const previewTag = same.headers.get("etag") as string;
    expect(previewTag).toMatch(/^"preview-/);
    expect(await same.text()).toBe(await (await h.fetch("/v1/flags?targetingKey=qa-1", { cf: US })).text());

    // Nor the other way round; a preview ETag still revalidates a preview answer.
    const back = await h.fetch("/v1/flags?targetingKey=qa-1", {
      cf: US,
      headers: { "if-none-match": previewTag },
    });
    expect(back.status).toBe(200);
    const again = await h.fetch("/v1/flags?targetingKey=qa-1", {
      cf: US,
      headers: { ...cookie, "if-none-match": previewTag },
    });
    expect(again.status).toBe(304);

    const applied = await token({ flags: { "checkout-v2": "on" } });
    const bulk = await h.fetch(`/v1/flags?targetingKey=qa-1&ef_preview=${applied}`, { cf: US });
    expect(bulk.headers.get("cache-control")).toBe("private, no-store");
    expect(bulk.headers.get("etag")).not.toBe(previewTag);
    const one = await single(h, "checkout-v2", { cookie: applied });
    expect(one.res.headers.get("cache-control")).toBe("private, no-store");
  });
});

describe("gateway", () => {
  const gateway = (extra: Partial<Env> = {}) =>
    app({ GATEWAY: "true", ORIGIN: originBinding, DECISION_HEADER: "true", ...extra });

  it("a preview opens a gate for this browser only, unstored, with the cookie set", async () => {
    const h = gateway();
    expect((await h.fetch("/checkout/start", { cf: US })).status).toBe(403);
    const t = await token({ flags: { "checkout-v2": "on" } });
    const opened = await h.fetch(`/checkout/start?ef_preview=${t}`, { cf: US });
    expect(opened.status).toBe(200);
    expect(opened.headers.get("x-origin")).toBe("echo");
    expect(opened.headers.get("cache-control")).toBe("private, no-store");
    expect(opened.headers.get("x-edgeflags-decision")).toContain("preview=applied");
    expect(opened.headers.getAll("set-cookie").some((c: string) => c.startsWith(`ef_preview=${t};`))).toBe(
      true,
    );
    const echo = (await opened.json()) as { headers: Record<string, string> };
    expect(JSON.parse(echo.headers["x-edgeflags-flags"] as string).flags["checkout-v2"]).toBe(true);

    const later = await h.fetch("/checkout/start", { cf: US, headers: { cookie: `ef_preview=${t}` } });
    expect(later.status).toBe(200);
    expect((await h.fetch("/checkout/start", { cf: US })).status).toBe(403);
  });

  it("never opens a permission gate or a geo restriction", async () => {
    const h = gateway();
    const t = await token({ flags: { "checkout-admin": "on", "checkout-geo": "on" } });
    const cookie = { cookie: `ef_preview=${t}` };
    expect((await h.fetch("/admin/users", { cf: US, headers: cookie })).status).toBe(404);
    const geo = await h.fetch("/geo/page", { cf: RU, headers: cookie });
    expect(geo.status).toBe(451);
    expect(geo.headers.get("cache-control")).toBe("private, no-store");
    expect(geo.headers.get("x-edgeflags-decision")).not.toContain("preview");
  });

  it("an invalid token in the query is cleared at the gate too", async () => {
    const res = await gateway().fetch("/checkout/start?ef_preview=nope", { cf: US });
    expect(res.status).toBe(403);
    expect(
      res.headers
        .getAll("set-cookie")
        .some((c: string) => c.startsWith("ef_preview=;") && c.includes("Max-Age=0")),
    ).toBe(true);
  });

  it("injects the previewed values into HTML, unstored", async () => {
    const h = gateway({ INJECT_HTML: "true" });
    const t = await token({ flags: { "checkout-theme": "dark", "search-v2": "on" } });
    const res = await h.fetch("/page/html", { cf: US, headers: { cookie: `ef_preview=${t}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    const html = await res.text();
    const json = /<script type="application\/json" id="edgeflags-flags">(.*?)<\/script>/.exec(html)?.[1];
    const injected = JSON.parse(json as string) as { flags: Record<string, unknown> };
    expect(injected.flags).toMatchObject({ "checkout-theme": "dark", "search-v2": false });

    const plain = await h.fetch("/page/html", { cf: US });
    expect(plain.headers.get("cache-control")).not.toContain("no-store");
    expect(await plain.text()).toContain('"checkout-theme":"classic"');
  });
});
