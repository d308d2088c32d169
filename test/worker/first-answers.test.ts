/**
 * A cold isolate's first answers (src/eval/first.ts), inside workerd against the real local KV: when
 * the reader takes the snapshot, the load defers the compile, the first bulk answers come from the
 * definitions, and they are the compiled engine's answers byte for byte (body and ETag), for GET
 * /v1/flags and OFREP alike, bulk and single; what compile refuses is refused at load all the same;
 * a tripped guard is honoured by the first answer too.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import type { Context } from "hono";
import { describe, expect, it } from "vitest";
import { compile, evaluate, evaluateAll } from "../../src/eval/index";
import type { FlagsDocument } from "../../src/flags/types";
import { GuardView } from "../../src/guard/view";
import type { AppEnv } from "../../src/http/app-env";
import { resultFor, resultsFor, startCompile } from "../../src/http/evaluation";
import { loadKeyRing } from "../../src/snapshot/keys";
import { verifySnapshot } from "../../src/snapshot/verify";
import { type Echo, gatewayHarness, publishGateway } from "./gateway-helpers";
import { fixtureKeys, harness, ofrepInit, publishToKv, snapshot } from "./helpers";

/** What the reader takes: targets, listed tests, a segment of keys, splits; client-visible and not. */
const takeable: FlagsDocument = {
  flags: {
    checkout: {
      clientVisible: true,
      targets: { on: ["vip"] },
      rules: [
        {
          id: "de-pro",
          when: [
            { attribute: "geo.country", op: "in", values: ["DE", "AT"] },
            { attribute: "plan", op: "equals", values: ["pro"] },
          ],
          serve: "on",
        },
        { id: "beta", when: [{ segment: "beta" }], serve: "on" },
        { id: "blocked", when: [{ attribute: "geo.country", op: "in", values: ["RU"] }], serve: "off" },
      ],
      fallthrough: { split: { on: 25, off: 75 } },
    },
    theme: {
      clientVisible: true,
      variants: { light: "light", dark: "dark" },
      rules: [
        {
          when: [{ attribute: "geo.country", op: "not_in", values: ["DE"] }],
          serve: {
            split: [
              { variant: "dark", weight: 1 },
              { variant: "light", weight: 1 },
            ],
          },
        },
      ],
      fallthrough: "light",
    },
    "server-only": { fallthrough: { split: { on: 1, off: 1 }, by: "plan" } },
    killed: { clientVisible: true, enabled: false, fallthrough: "on" },
  },
  segments: { beta: { included: ["u-beta"], excluded: ["vip"] } },
};

function loadedEvents(log: Record<string, unknown>[]) {
  return log.filter((e) => e.event === "snapshot_loaded");
}

describe("a cold isolate's first answers", () => {
  const contexts: [string, Record<string, string>][] = [
    ["u1", { country: "DE" }],
    ["vip", { country: "DE" }],
    ["u-beta", { country: "US" }],
    ["u7", { country: "RU" }],
  ];

  it.each(
    contexts,
  )("GET /v1/flags for %s: deferred compile, then the same body and ETag compiled", async (key, cf) => {
    const environment = `first-${key}`;
    await publishToKv(await snapshot({ environment, version: 4, flags: takeable }), environment);
    const log: Record<string, unknown>[] = [];
    const h = harness({ EDGEFLAGS_ENV: environment }, { log: (e) => log.push(e) });
    const path = `/v1/flags?targetingKey=${key}&plan=pro&details=1`;
    const first = await h.fetch(path, { cf });
    expect(first.status).toBe(200);
    expect(loadedEvents(log)).toEqual([expect.objectContaining({ version: 4, compile: "deferred" })]);
    // The harness waited for the request's background work: the compile has run since.
    expect(log.filter((e) => e.event === "snapshot_compiled")).toEqual([
      expect.objectContaining({ level: "info", version: 4, slices: 1 }),
    ]);
    const second = await h.fetch(path, { cf });
    expect(await first.text()).toBe(await second.text());
    expect(first.headers.get("etag")).toBe(second.headers.get("etag"));
    expect(log.filter((e) => e.level === "error")).toEqual([]);
  });

  it("/healthz counts the flags from the definitions, so a health check leaves the compile deferred", async () => {
    const environment = "first-health";
    await publishToKv(await snapshot({ environment, version: 6, flags: takeable }), environment);
    const log: Record<string, unknown>[] = [];
    const h = harness({ EDGEFLAGS_ENV: environment }, { log: (e) => log.push(e) });
    const health = await h.fetch("/healthz");
    expect(await health.json()).toMatchObject({ version: 6, flags: 4 });
    expect(loadedEvents(log)[0]).toMatchObject({ compile: "deferred" });
    expect((await h.fetch("/v1/flags?targetingKey=u1")).status).toBe(200);
  });

  it("OFREP bulk: the same answers before and after the compile, server flags with an API key", async () => {
    const environment = "first-ofrep";
    await publishToKv(await snapshot({ environment, version: 2, flags: takeable }), environment);
    const log: Record<string, unknown>[] = [];
    const h = harness(
      { EDGEFLAGS_ENV: environment, SERVER_API_KEYS: "sk-first" },
      { log: (e) => log.push(e) },
    );
    const init = () =>
      ofrepInit({ targetingKey: "u3", plan: "free" }, { headers: { "x-api-key": "sk-first" } });
    const first = await h.fetch("/ofrep/v1/evaluate/flags", init());
    expect(loadedEvents(log)[0]).toMatchObject({ compile: "deferred" });
    const second = await h.fetch("/ofrep/v1/evaluate/flags", init());
    const a = await first.json();
    expect(a).toEqual(await second.json());
    expect(JSON.stringify(a)).toContain("server-only");
  });

  it("single flags too (GET /v1/flags/:key, OFREP): answers, 404s and hidden flags as compiled", async () => {
    const environment = "first-single";
    await publishToKv(await snapshot({ environment, version: 5, flags: takeable }), environment);
    const calls: [string, RequestInit & { cf?: Record<string, unknown> }][] = [
      ["/v1/flags/checkout?targetingKey=u-beta", {}],
      ["/v1/flags/theme?targetingKey=u2", { cf: { country: "US" } }],
      ["/v1/flags/server-only?targetingKey=u2", {}],
      ["/v1/flags/nope?targetingKey=u2", {}],
      ["/v1/flags/toString?targetingKey=u2", {}],
      ["/ofrep/v1/evaluate/flags/checkout", ofrepInit({ targetingKey: "vip" })],
      ["/ofrep/v1/evaluate/flags/killed", ofrepInit({ targetingKey: "vip" })],
      ["/ofrep/v1/evaluate/flags/server-only", ofrepInit({ targetingKey: "u2" })],
      [
        "/ofrep/v1/evaluate/flags/server-only",
        ofrepInit({ targetingKey: "u2", plan: "pro" }, { headers: { "x-api-key": "sk-first" } }),
      ],
    ];
    for (const [path, init] of calls) {
      // Each call on a cold isolate (answered by the reader), then again once compiled.
      const log: Record<string, unknown>[] = [];
      const h = harness(
        { EDGEFLAGS_ENV: environment, SERVER_API_KEYS: "sk-first" },
        { log: (e) => log.push(e) },
      );
      const cold = await h.fetch(path, init);
      expect(loadedEvents(log)[0]).toMatchObject({ compile: "deferred" });
      const warm = await h.fetch(path, init);
      expect([path, cold.status, await cold.text()]).toEqual([path, warm.status, await warm.text()]);
    }
  });

  it("gates do not stop the deferral, and a gate naming no flag is still refused at load", async () => {
    const ring = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const verify = async (flag: string) =>
      verifySnapshot(
        await snapshot({
          environment: "first-gates",
          version: 1,
          flags: {
            ...takeable,
            gates: [{ id: "beta", pattern: "/beta/*", flag, allow: ["on"], deny: { status: 404 } }],
          },
        }),
        { keys: ring, environment: "first-gates", now: Date.now(), deferCompile: true },
      );
    expect((await verify("checkout")).first).toBeDefined();
    await expect(verify("nope")).rejects.toMatchObject({ code: "ERR_SNAPSHOT_SCHEMA" });
  });

  it("a snapshot compile refuses is refused at load even when compile is deferred", async () => {
    const ring = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const bad: FlagsDocument = {
      flags: { f: { rules: [{ when: [{ segment: "nope" }], serve: "on" }], fallthrough: "off" } },
    };
    const jws = await snapshot({ environment: "first-bad", version: 1, flags: bad });
    await expect(
      verifySnapshot(jws, { keys: ring, environment: "first-bad", now: Date.now(), deferCompile: true }),
    ).rejects.toMatchObject({ code: "ERR_SNAPSHOT_SCHEMA" });
  });

  it("compiles a slice at a time, answering from the reader until the last slice", async () => {
    const ring = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const many: FlagsDocument = { flags: {}, segments: takeable.segments };
    for (let i = 0; i < 250; i++) many.flags[`f${String(i).padStart(3, "0")}`] = takeable.flags.checkout!;
    const jws = await snapshot({ environment: "first-slices", version: 1, flags: many });
    const verified = await verifySnapshot(jws, {
      keys: ring,
      environment: "first-slices",
      now: Date.now(),
      deferCompile: true,
    });
    expect(verified.first).toBeDefined();
    const steps: boolean[] = [];
    while (verified.first !== undefined) steps.push(verified.compileSlice!());
    expect(steps).toEqual([false, false, true]); // 100 + 100 + 50 flags, then the index
    const ctx = { targetingKey: "u1", geo: { country: "DE" }, attributes: { plan: "pro" } };
    expect(evaluateAll(verified.compiled, ctx, Date.now())).toEqual(
      evaluateAll(compile(many), ctx, Date.now()),
    );
  });

  it("a tripped guard is honoured from the first answer: the guard view never uses the reader", async () => {
    const ring = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const flags: FlagsDocument = {
      flags: {
        ...takeable.flags,
        checkout: { ...takeable.flags.checkout!, guard: { metric: "error-rate", threshold: 0.05 } },
      },
      segments: takeable.segments,
    } as FlagsDocument;
    const jws = await snapshot({ environment: "first-guard", version: 3, flags });
    const verified = await verifySnapshot(jws, {
      keys: ring,
      environment: "first-guard",
      now: Date.now(),
      deferCompile: true,
    });
    expect(verified.first).toBeDefined();
    const guards = new GuardView();
    guards.update({ environment: "first-guard", version: 3, gen: 1, trips: [{ flag: "checkout" }] } as never);
    const view = guards.view(verified);
    expect(view.first).toBeUndefined();
    const r = evaluateAll(view.compiled, { targetingKey: "vip" }, Date.now()).find(
      (x) => x.key === "checkout",
    )!;
    expect(r).toMatchObject({ value: false, reason: "DISABLED", ruleId: "guard" });
  });

  it("the gateway decides gates and forwards flags from the reader, as compiled", async () => {
    const environment = "first-gateway";
    await publishGateway(environment);
    const US = { country: "US", continent: "NA" };
    const RU = { country: "RU", continent: "EU" };
    const DE = { country: "DE", continent: "EU" };
    const calls: [string, Record<string, string>][] = [
      ["/checkout/cart", US], // allowed by the gate: the origin gets the forwarded flags
      ["/checkout/cart", RU], // denied, 451
      ["/promo/spring", US], // redirected
      ["/promo/spring", DE],
      ["/about", DE], // no gate: forwarded flags only
    ];
    for (const [path, cf] of calls) {
      const log: Record<string, unknown>[] = [];
      const h = gatewayHarness(environment, { DECISION_HEADER: "true" }, { log: (e) => log.push(e) });
      const init = { cf, headers: { cookie: "ef_id=visitor-12345" }, redirect: "manual" as const };
      const cold = await h.fetch(path, init);
      expect(loadedEvents(log), path).toEqual([expect.objectContaining({ compile: "deferred" })]);
      expect(
        log.filter((e) => e.event === "snapshot_compiled"),
        path,
      ).toHaveLength(1);
      const compiled = await h.fetch(path, init);
      const seen = async (res: Response) => ({
        status: res.status,
        decision: res.headers.get("x-edgeflags-decision"),
        location: res.headers.get("location"),
        flags: res.status === 200 ? ((await res.json()) as Echo).headers["x-edgeflags-flags"] : undefined,
      });
      const first = await seen(cold);
      expect(first, `${path} ${cf.country}`).toEqual(await seen(compiled));
      if (first.status === 200) expect(first.flags).toContain('"checkout-geo":true');
      expect(log.filter((e) => e.level === "error")).toEqual([]);
    }
  });

  it("resultFor and resultsFor never read the compile while the reader answers", async () => {
    const ring = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const jws = await snapshot({ environment: "first-helpers", version: 1, flags: takeable });
    const options = { keys: ring, environment: "first-helpers", now: Date.now() };
    const deferred = await verifySnapshot(jws, { ...options, deferCompile: true });
    let reads = 0;
    const trapped = Object.create(deferred, {
      compiled: {
        get() {
          reads++;
          return deferred.compiled;
        },
      },
    });
    const ctx = createExecutionContext();
    const vars = new Map<string, unknown>([["rt", { log: () => {} }]]);
    const c = {
      executionCtx: ctx,
      get: (k: string) => vars.get(k),
      set: (k: string, v: unknown) => vars.set(k, v),
    } as unknown as Context<AppEnv>;
    const context = { targetingKey: "u-beta", geo: { country: "DE" }, attributes: { plan: "pro" } };
    const now = Date.now();
    const all = resultsFor(c, trapped, context, now, false);
    const one = resultFor(c, trapped, "theme", context, now);
    const missing = resultFor(c, trapped, "nope", context, now);
    expect(reads).toBe(0);
    const reference = compile(takeable);
    expect(all).toEqual(evaluateAll(reference, context, now));
    expect(one).toEqual(evaluate(reference, "theme", context, now));
    expect(missing).toEqual(evaluate(reference, "nope", context, now));
    // Asked for, not started: the app starts it once the response is made (startCompile).
    expect(vars.get("compileAfter")).toBe(trapped);
    await waitOnExecutionContext(ctx);
    expect(deferred.first).toBeDefined();
    startCompile(c);
    await waitOnExecutionContext(ctx);
    // The background compile finished: from now on the compiled snapshot answers.
    expect(deferred.first).toBeUndefined();
  });
});
