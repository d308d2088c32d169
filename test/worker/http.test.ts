/** Every endpoint's success and error shapes, inside workerd with a real local KV. */
import { beforeAll, describe, expect, it } from "vitest";
import { harness, ofrepInit, publishToKv, snapshot } from "./helpers";

const ENV = "http";
beforeAll(async () => {
  await publishToKv(await snapshot({ environment: ENV, version: 12 }), ENV);
});
const h = () => harness({ EDGEFLAGS_ENV: ENV });

describe("GET /v1/flags", () => {
  it("returns only client-visible flags, compact, with version, ETag and private caching", async () => {
    const res = await h().fetch("/v1/flags?targetingKey=user-1&plan=enterprise", { cf: { country: "DE" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
    expect(res.headers.get("etag")).toMatch(/^"12-[0-9a-z]+"$/);
    const body = (await res.json()) as { version: number; flags: Record<string, unknown> };
    expect(body.version).toBe(12);
    expect(body.flags).toMatchObject({ "new-checkout": true, "banner-text": "Hallo" });
    expect(Object.keys(body.flags).sort()).toEqual(["banner-text", "half-rollout", "new-checkout"]);
    expect(JSON.stringify(body)).not.toContain("admin-panel");
  });

  it("gives variant, reason and rule with ?details", async () => {
    const res = await h().fetch("/v1/flags?targetingKey=user-1&details=1", { cf: { country: "FR" } });
    const body = (await res.json()) as { flags: Record<string, Record<string, unknown>> };
    expect(body.flags["new-checkout"]).toEqual({
      value: false,
      variant: "off",
      reason: "DEFAULT",
      ruleId: "fallthrough",
    });
    expect(body.flags["half-rollout"]).toMatchObject({ reason: "SPLIT" });
  });

  it("answers 304 to a matching If-None-Match, and 200 when the visitor's flags differ", async () => {
    const first = await h().fetch("/v1/flags?targetingKey=user-1", { cf: { country: "DE" } });
    const etag = first.headers.get("etag") as string;
    const again = await h().fetch("/v1/flags?targetingKey=user-1", {
      cf: { country: "DE" },
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
    const weak = await h().fetch("/v1/flags?targetingKey=user-1", {
      cf: { country: "DE" },
      headers: { "if-none-match": `W/${etag}` },
    });
    expect(weak.status).toBe(304);
    const other = await h().fetch("/v1/flags?targetingKey=user-1", {
      cf: { country: "US" },
      headers: { "if-none-match": etag },
    });
    expect(other.status).toBe(200);
  });

  it("lets a server caller with X-API-Key see server-only flags", async () => {
    const res = await h().fetch("/v1/flags?targetingKey=u", { headers: { "x-api-key": "test-server-key" } });
    expect(Object.keys(((await res.json()) as { flags: object }).flags)).toContain("admin-panel");
    const wrong = await h().fetch("/v1/flags?targetingKey=u", { headers: { "x-api-key": "nope" } });
    expect(Object.keys(((await wrong.json()) as { flags: object }).flags)).not.toContain("admin-panel");
  });

  it("answers CORS preflights and exposes ETag", async () => {
    const pre = await h().fetch("/v1/flags", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    const res = await h().fetch("/v1/flags?targetingKey=u", { headers: { origin: "https://app.example" } });
    expect(res.headers.get("access-control-expose-headers")).toContain("ETag");
  });

  it.each<[string, string, RequestInit, number]>([
    ["a 200", "/v1/flags?targetingKey=u", {}, 200],
    ["an unknown flag", "/v1/flags/no-such-flag?targetingKey=u", {}, 404],
    [
      "an OFREP body that is not JSON",
      "/ofrep/v1/evaluate/flags",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{" },
      400,
    ],
  ])("puts CORS headers on every answer: %s", async (_what, path, init, status) => {
    const hh = harness({ EDGEFLAGS_ENV: ENV, CORS_ORIGINS: "https://app.example" });
    const headers = { ...(init.headers as Record<string, string>), origin: "https://app.example" };
    const res = await hh.fetch(path, { ...init, headers });
    expect(res.status).toBe(status);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    // Once: CORS runs once per request, whatever the route.
    expect(res.headers.get("vary")).toBe("Origin");
    if (status === 200) {
      const again = await hh.fetch(path, {
        headers: { ...headers, "if-none-match": res.headers.get("etag")! },
      });
      expect(again.status).toBe(304);
      expect(again.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(again.headers.get("access-control-expose-headers")).toContain("ETag");
    }
  });

  it("puts CORS headers on the answer when no snapshot is loaded", async () => {
    const res = await harness({ EDGEFLAGS_ENV: "nothing-here" }).fetch("/v1/flags?targetingKey=u", {
      headers: { origin: "https://app.example" },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("allows only configured origins, with credentials, when CORS_ORIGINS is a list", async () => {
    const hh = harness({ EDGEFLAGS_ENV: ENV, CORS_ORIGINS: "https://app.example, https://www.example" });
    const ok = await hh.fetch("/v1/flags?targetingKey=u", { headers: { origin: "https://www.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://www.example");
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    const no = await hh.fetch("/v1/flags?targetingKey=u", { headers: { origin: "https://evil.example" } });
    expect(no.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("GET /v1/flags/:key", () => {
  it("evaluates one client-visible flag", async () => {
    const res = await h().fetch("/v1/flags/banner-text?targetingKey=u", { cf: { country: "AT" } });
    expect(await res.json()).toEqual({
      key: "banner-text",
      value: "Hallo",
      variant: "hallo",
      reason: "TARGETING_MATCH",
      ruleId: "german",
      version: 12,
    });
  });

  it.each([
    "no-such-flag",
    "admin-panel",
  ])("answers 404 flag_not_found for %s (unknown and server-only look alike)", async (key) => {
    const res = await h().fetch(`/v1/flags/${key}?targetingKey=u`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "flag_not_found", message: `no flag named "${key}"` });
  });
});

describe("OFREP single flag", () => {
  it("returns value, variant and reason per the spec", async () => {
    const res = await h().fetch(
      "/ofrep/v1/evaluate/flags/new-checkout",
      ofrepInit({ targetingKey: "u1", plan: "enterprise" }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      key: "new-checkout",
      value: true,
      reason: "TARGETING_MATCH",
      variant: "on",
      metadata: { snapshotVersion: 12, ruleId: "enterprise" },
    });
  });

  it("answers 404 FLAG_NOT_FOUND for unknown and, without X-API-Key, server-only flags", async () => {
    for (const key of ["missing", "admin-panel"]) {
      const res = await h().fetch(`/ofrep/v1/evaluate/flags/${key}`, ofrepInit({ targetingKey: "u" }));
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        key,
        errorCode: "FLAG_NOT_FOUND",
        errorDetails: `flag "${key}" was not found`,
      });
    }
    const server = await h().fetch(
      "/ofrep/v1/evaluate/flags/admin-panel",
      ofrepInit({ targetingKey: "u" }, { headers: { "x-api-key": "test-server-key" } }),
    );
    expect(server.status).toBe(200);
  });

  it.each([
    [
      "a body that is not JSON",
      { body: "{nope", headers: { "content-type": "application/json" } },
      400,
      "PARSE_ERROR",
    ],
    [
      "a body that is not an object",
      { body: "[1]", headers: { "content-type": "application/json" } },
      400,
      "PARSE_ERROR",
    ],
    [
      "a context that is not an object",
      { body: '{"context": 5}', headers: { "content-type": "application/json" } },
      400,
      "INVALID_CONTEXT",
    ],
    [
      "a non-string targetingKey",
      { body: '{"context": {"targetingKey": 5}}', headers: { "content-type": "application/json" } },
      400,
      "INVALID_CONTEXT",
    ],
    [
      "a wrong content type",
      { body: '{"context": {}}', headers: { "content-type": "text/plain" } },
      415,
      "PARSE_ERROR",
    ],
  ])("refuses %s", async (_what, init, status, errorCode) => {
    const res = await h().fetch("/ofrep/v1/evaluate/flags/new-checkout", { method: "POST", ...init });
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ key: "new-checkout", errorCode });
    expect(typeof body.errorDetails).toBe("string");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|Error:/);
  });

  it("refuses an oversized body with 413 before parsing it", async () => {
    const hh = harness({ EDGEFLAGS_ENV: ENV, MAX_BODY_BYTES: "1024" });
    const big = JSON.stringify({ context: { targetingKey: "u", pad: "x".repeat(5000) } });
    const res = await hh.fetch("/ofrep/v1/evaluate/flags/new-checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    expect(res.status).toBe(413);
    // Chunked (no Content-Length): the limit still holds while streaming.
    const stream = new Blob([big]).stream();
    const chunked = await hh.fetch("/ofrep/v1/evaluate/flags", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });
});

describe("OFREP bulk", () => {
  it("returns every client-visible flag with metadata, an ETag and 304 on If-None-Match", async () => {
    const res = await h().fetch(
      "/ofrep/v1/evaluate/flags",
      ofrepInit({ targetingKey: "u1" }, { cf: { country: "DE" } }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { flags: { key: string }[]; metadata: unknown };
    expect(body.flags.map((f) => f.key).sort()).toEqual(["banner-text", "half-rollout", "new-checkout"]);
    expect(body.flags).toContainEqual({
      key: "banner-text",
      value: "Hallo",
      reason: "TARGETING_MATCH",
      variant: "hallo",
    });
    expect(body.metadata).toEqual({ version: 12, environment: ENV });
    const etag = res.headers.get("etag") as string;
    const again = await h().fetch(
      "/ofrep/v1/evaluate/flags",
      ofrepInit({ targetingKey: "u1" }, { cf: { country: "DE" }, headers: { "if-none-match": etag } }),
    );
    expect(again.status).toBe(304);
  });

  it("answers 503 with an OFREP error body when no snapshot exists", async () => {
    const res = await harness({ EDGEFLAGS_ENV: "nothing-here" }).fetch(
      "/ofrep/v1/evaluate/flags",
      ofrepInit({ targetingKey: "u" }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({
      errorCode: "GENERAL",
      errorDetails: expect.stringContaining("no flag snapshot"),
    });
  });
});

describe("GET /healthz", () => {
  it("reports version, environment, age and source", async () => {
    const res = await h().fetch("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "ok",
      environment: ENV,
      version: 12,
      source: "fresh",
      flags: 4,
      lastError: null,
      gateway: { enabled: false },
      warnings: [],
    });
    expect(body.ageSeconds).toBeGreaterThanOrEqual(0);
  });

  it("shows settings it could not use, and what it uses instead", async () => {
    const res = await harness({ EDGEFLAGS_ENV: ENV, SIGNAL_INTERVAL_SECONDS: "0.5", GATEWAY: "on" }).fetch(
      "/healthz",
    );
    expect(((await res.json()) as { warnings: string[] }).warnings).toEqual([
      'SIGNAL_INTERVAL_SECONDS="0.5" is not a whole number >= 0; using the default 2',
      'GATEWAY="on" is not "true" or "false"; using the default false',
    ]);
  });

  it("reports a misconfigured worker without crashing", async () => {
    const res = await harness({ EDGEFLAGS_ENV: ENV, EDGEFLAGS_PUBLIC_KEYS: "" }).fetch("/healthz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "misconfigured",
      error: expect.stringContaining("EDGEFLAGS_PUBLIC_KEYS"),
    });
    const flags = await harness({ EDGEFLAGS_ENV: ENV, EDGEFLAGS_PUBLIC_KEYS: "{bad" }).fetch("/v1/flags");
    expect(flags.status).toBe(503);
  });
});

describe("unknown routes", () => {
  it("answer 404 with the short error body", async () => {
    const res = await h().fetch("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found", message: "no such resource" });
  });
});
