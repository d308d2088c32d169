/// <reference types="vite/client" />
/**
 * POST /v1/explain in workerd: server API key only, the demo flags explained for a user in DE and in
 * the US, body checks and their documented errors, and `at` choosing the version live at a moment
 * (right before and right after a publish) from the versions the intake keeps.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoYaml from "../../examples/demo.flags.yaml?raw";
import type { FlagTrace } from "../../src/explain/trace";
import type { FlagsDocument } from "../../src/flags/types";
import { kvKeys } from "../../src/snapshot/format";
import { harness, publishToKv, snapshot, testEnv } from "./helpers";

const demo = parse(demoYaml) as FlagsDocument;
const KEY = "test-server-key";

/** A POST /v1/explain; `apiKey` null sends no X-API-Key. */
const explain = (body: unknown, apiKey: string | null = KEY, type = "application/json") => ({
  method: "POST",
  headers: { "content-type": type, ...(apiKey === null ? {} : { "x-api-key": apiKey }) },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function demoHarness(environment: string) {
  await publishToKv(await snapshot({ environment, version: 1, flags: demo }), environment);
  return harness({ EDGEFLAGS_ENV: environment });
}

describe("POST /v1/explain", () => {
  it("refuses a request without the server API key, or with a wrong one; off without SERVER_API_KEYS", async () => {
    const h = await demoHarness("ex-auth");
    for (const key of [null, "wrong", ""]) {
      const res = await h.fetch("/v1/explain", explain({ flag: "demo-flag" }, key));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", message: expect.any(String) });
    }
    const off = harness({ EDGEFLAGS_ENV: "ex-auth", SERVER_API_KEYS: "" });
    const res = await off.fetch("/v1/explain", explain({ flag: "demo-flag" }));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "explain_disabled" });
  });

  it("explains the demo's geo-blocked flag: on in DE, off in New York, geo taken from the body", async () => {
    const h = await demoHarness("ex-geo");
    const ask = async (geo: Record<string, unknown>) => {
      const res = await h.fetch(
        "/v1/explain",
        explain({ flag: "crypto-payments", context: { targetingKey: "qa-account-1" }, geo }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      return (await res.json()) as { version: number; snapshot: string; flag: FlagTrace };
    };
    const de = await ask({ country: "de", continent: "EU" });
    expect(de).toMatchObject({ version: 1, snapshot: "current" });
    expect(de.flag.result).toMatchObject({ value: true, variant: "on", reason: "DEFAULT" });
    expect(de.flag.steps.map((s) => s.step)).toEqual(["enabled", "prerequisite", "geo", "fallthrough"]);
    // The prerequisite's own trace: qa-account-1 is an individual target of new-checkout.
    expect(de.flag.steps[1]).toMatchObject({ flag: "new-checkout", got: "on", met: true });
    expect(de.flag.steps[2]).toMatchObject({ geo: { country: "DE", continent: "EU" }, decides: false });

    const ny = await ask({ country: "US", continent: "NA", regionCode: "NY" });
    expect(ny.flag.result).toMatchObject({ value: false, reason: "TARGETING_MATCH", ruleId: "geo" });
    expect(ny.flag.steps.at(-1)).toMatchObject({ step: "geo", blocked: "region US-NY", decides: true });
  });

  it("geo in a body reaches no evaluation route but explain", async () => {
    const h = await demoHarness("ex-geo-ofrep");
    const res = await h.fetch("/ofrep/v1/evaluate/flags/crypto-payments", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": KEY },
      body: JSON.stringify({
        context: { targetingKey: "qa-account-1", geo: { country: "US", regionCode: "NY" } },
      }),
    });
    expect(await res.json()).toMatchObject({ value: true });
  });

  it("without a flag, explains every flag in key order", async () => {
    const h = await demoHarness("ex-all");
    const res = await h.fetch("/v1/explain", explain({ context: { targetingKey: "user-1" } }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { flags: FlagTrace[] };
    expect(body.flags.map((f) => f.key)).toEqual(Object.keys(demo.flags).sort());
    // user-1 is in the beta segment: new-checkout's rule says so, with the segment's decision.
    const checkout = body.flags.find((f) => f.key === "new-checkout")!;
    expect(checkout.result).toMatchObject({ value: true, ruleId: "beta-users" });
    expect(checkout.steps.at(-1)).toMatchObject({
      step: "rule",
      conditions: [{ kind: "segment", segment: "beta", member: true, via: "included", holds: true }],
    });
  });

  it.each<[string, RequestInit, number, string]>([
    ["an unknown flag", explain({ flag: "nope" }), 404, "flag_not_found"],
    ["a key longer than any flag's", explain({ flag: "x".repeat(300) }), 404, "flag_not_found"],
    ["a bad at", explain({ at: "yesterday" }), 400, "bad_request"],
    ["at without an offset", explain({ at: "2026-01-01T10:00:00" }), 400, "bad_request"],
    ["an unknown field", explain({ flags: "demo-flag" }), 400, "bad_request"],
    ["a bad geo field", explain({ geo: { country: "DE", planet: "earth" } }), 400, "invalid_context"],
    ["a geo field of the wrong type", explain({ geo: { asn: "3320" } }), 400, "invalid_context"],
    ["a non-string targeting key", explain({ context: { targetingKey: 7 } }), 400, "invalid_context"],
    ["a body that is not JSON", explain("{"), 400, "parse_error"],
    ["another media type", explain({}, KEY, "text/plain"), 415, "unsupported_media_type"],
    [
      "a body over MAX_BODY_BYTES",
      explain({ context: { pad: "x".repeat(70_000) } }),
      413,
      "payload_too_large",
    ],
  ])("answers %s with a short documented error", async (_, init, status, error) => {
    const h = await demoHarness("ex-errors");
    const res = await h.fetch("/v1/explain", init);
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ error, message: expect.any(String) });
    expect(JSON.stringify(body).length).toBeLessThan(400);
  });
});

describe("POST /v1/explain with at", () => {
  const publish = (jws: string) => ({
    method: "PUT",
    headers: { authorization: "Bearer test-publish-token", "content-type": "application/jose" },
    body: jws,
  });

  it("picks the version live at the moment, at a version boundary", async () => {
    const environment = "ex-at";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const t1 = Date.now() - 3_600_000;
    const t2 = t1 + 600_000;
    const flagsAt = (value: string): FlagsDocument => ({
      flags: { color: { variants: { old: "red", new: "blue", off: "grey" }, fallthrough: value } },
    });
    const v1 = await snapshot({
      environment,
      version: 1,
      issuedAt: new Date(t1).toISOString(),
      flags: flagsAt("old"),
    });
    const v2 = await snapshot({
      environment,
      version: 2,
      issuedAt: new Date(t2).toISOString(),
      flags: flagsAt("new"),
    });
    expect((await h.fetch("/v1/snapshot", publish(v1))).status).toBe(201);
    expect((await h.fetch("/v1/snapshot", publish(v2))).status).toBe(201);

    const at = async (ms: number) => {
      const res = await h.fetch("/v1/explain", explain({ flag: "color", at: new Date(ms).toISOString() }));
      expect(res.status).toBe(200);
      return (await res.json()) as { version: number; snapshot: string; at: string; flag: FlagTrace };
    };
    const before = await at(t2 - 1);
    expect(before).toMatchObject({ version: 1, snapshot: "history", at: new Date(t2 - 1).toISOString() });
    expect(before.flag.result).toMatchObject({ value: "red" });
    const exactly = await at(t2);
    expect(exactly).toMatchObject({ version: 2, snapshot: "history" });
    expect((await at(t2 + 1)).flag.result).toMatchObject({ value: "blue" });
    expect((await at(t1)).version).toBe(1);

    const tooEarly = await h.fetch(
      "/v1/explain",
      explain({ flag: "color", at: new Date(t1 - 1).toISOString() }),
    );
    expect(tooEarly.status).toBe(404);
    const body = (await tooEarly.json()) as { error: string; message: string };
    expect(body.error).toBe("no_version_at");
    expect(body.message).toContain("before the first recorded version (1");

    // A version KV holds that does not verify (an untrusted signer) never was live: passed over.
    const forged = await snapshot(
      { environment, version: 3, issuedAt: new Date(t2 + 5).toISOString(), flags: flagsAt("off") },
      "untrusted",
    );
    await testEnv.FLAGS.put(kvKeys.version(environment, 3), forged);
    expect(await at(t2 + 10)).toMatchObject({ version: 2, flag: { result: { value: "blue" } } });

    // Without at: the current snapshot, now.
    const now = await h.fetch("/v1/explain", explain({ flag: "color" }));
    expect(await now.json()).toMatchObject({ version: 2, snapshot: "current" });
  });

  it("evaluates time-dependent parts at `at`: a progressive step and a schedule", async () => {
    const environment = "ex-at-time";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const t0 = Date.now() - 10 * 86_400_000;
    const step = new Date(t0 + 86_400_000).toISOString();
    const flags: FlagsDocument = {
      flags: {
        ramp: { fallthrough: { split: { on: 0, off: 1 }, steps: [{ at: step, split: { on: 1, off: 0 } }] } },
        window: { schedule: { until: step }, fallthrough: "on" },
      },
    };
    const v1 = await snapshot({ environment, version: 1, issuedAt: new Date(t0).toISOString(), flags });
    expect((await h.fetch("/v1/snapshot", publish(v1))).status).toBe(201);
    const all = async (ms: number) => {
      const res = await h.fetch(
        "/v1/explain",
        explain({ context: { targetingKey: "u" }, at: new Date(ms).toISOString() }),
      );
      const body = (await res.json()) as { flags: FlagTrace[] };
      return Object.fromEntries(body.flags.map((f) => [f.key, f.result.value]));
    };
    expect(await all(t0 + 1000)).toEqual({ ramp: false, window: true });
    expect(await all(t0 + 2 * 86_400_000)).toEqual({ ramp: true, window: false });
  });

  it("says so when nothing was ever published", async () => {
    const h = harness({ EDGEFLAGS_ENV: "ex-at-empty" });
    const res = await h.fetch("/v1/explain", explain({ at: "2026-01-01T00:00:00Z" }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "no_version_at" });
  });
});
