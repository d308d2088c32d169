/**
 * Guards in real workerd (the aggregator and beacon Durable Objects, KV): a gateway whose origin fails
 * only for the new variant trips the guard, and another location serves the off variant within 1.5
 * signal intervals, and its open event streams are told; errors in the control only, or too few samples, trip nothing; forged guard state
 * (another version, environment, an unguarded flag, a variant claim) and unsigned or foreign resets
 * are ignored or refused; a signed reset re-arms; a new version re-arms.
 */
import { describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { signGuardReset } from "../../src/guard/reset";
import type { GuardSignal } from "../../src/guard/types";
import type { Env } from "../../src/http/env";
import { auth, evaluateFlag, failingOrigin, guardsOf, healthGuards, publishVersion } from "./guard-helpers";
import { type Harness, harness, signer } from "./helpers";
import { type Clock, clock, realBeacon } from "./signal-helpers";

const INTERVAL_MS = 2000;
const STEP_MS = 100;
const BOUND_MS = INTERVAL_MS * 1.5 + STEP_MS;

/** new-checkout: half on, half off, guarded on origin 5xx against the off variant. */
function guarded(guard: NonNullable<FlagsDocument["flags"][string]["guard"]>): FlagsDocument {
  return {
    flags: {
      "new-checkout": { clientVisible: true, fallthrough: { split: { off: 50, on: 50 } }, guard },
      banner: { clientVisible: true, variants: { a: "A", b: "B" }, offVariant: "b", fallthrough: "a" },
    },
    gates: [
      {
        id: "checkout",
        pattern: "/checkout/*",
        flag: "new-checkout",
        allow: ["on", "off"],
        deny: { status: 403 },
      },
    ],
  };
}

const ORIGIN_5XX = { metric: "origin-5xx", relative: { ratio: 2, margin: 0.01 }, minSamples: 20 } as const;

function locations(environment: string, c: Clock, origin: Fetcher, extra: Partial<Env> = {}) {
  const options = { now: c.now, random: () => 0, cache: null };
  const gateway = harness(
    { EDGEFLAGS_ENV: environment, GATEWAY: "true", ORIGIN: origin, SIGNAL_LOCATION: "AMS", ...extra },
    options,
  );
  const far = harness({ EDGEFLAGS_ENV: environment, SIGNAL_LOCATION: "SIN", ...extra }, options);
  return { gateway, far };
}

/** `n` gated page views from distinct visitors. */
async function traffic(h: Harness, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const res = await h.fetch("/checkout/cart", { headers: { "x-targeting-key": `visitor-${i}` } });
    await res.arrayBuffer();
  }
}

/** A targeting key the split serves `variant`. */
async function keyServed(h: Harness, variant: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    if ((await evaluateFlag(h, "new-checkout", `probe-${i}`)).variant === variant) return `probe-${i}`;
  }
  throw new Error(`no key is served ${variant}`);
}

describe("a guard on origin health", () => {
  it("trips when only the new variant fails, and another location serves the off variant within 1.5 intervals", async () => {
    const ENV = "guard-trip";
    const c = clock();
    await publishVersion(ENV, 1, guarded(ORIGIN_5XX));
    const { gateway, far } = locations(ENV, c, failingOrigin("new-checkout", [true]));
    const onKey = await keyServed(far, "on");
    expect(await evaluateFlag(far, "new-checkout", onKey)).toMatchObject({ variant: "on", reason: "SPLIT" });

    await traffic(gateway, 80);
    const board = await guardsOf(gateway, "/__edgeflags");
    expect(board.version).toBe(1);
    expect(board.trips).toHaveLength(1);
    const trip = board.trips[0]!;
    expect(trip).toMatchObject({
      flag: "new-checkout",
      variant: "on",
      metric: "origin-5xx",
      value: 1,
      control: 0,
    });
    expect(trip.samples).toBeGreaterThanOrEqual(20);
    expect(trip.controlSamples).toBeGreaterThanOrEqual(20);
    expect(board.guards[0]).toMatchObject({ flag: "new-checkout", state: "tripped" });

    // The far location learns of it through its next signal checks.
    let waited = 0;
    while ((await evaluateFlag(far, "new-checkout", onKey)).variant !== "off") {
      c.advance(STEP_MS);
      waited += STEP_MS;
      expect(waited).toBeLessThanOrEqual(BOUND_MS);
    }
    expect(await evaluateFlag(far, "new-checkout", onKey)).toMatchObject({
      value: false,
      variant: "off",
      reason: "DISABLED",
      ruleId: "guard",
    });
    const health = await healthGuards(far);
    expect(health.trips.map((t) => t.flag)).toEqual(["new-checkout"]);
    // The unguarded flag serves as signed.
    expect(await evaluateFlag(far, "banner", onKey)).toMatchObject({ variant: "a" });
  });

  it("tells pages with an open event stream at another location of the trip", async () => {
    const ENV = "guard-trip-stream";
    const c = clock();
    await publishVersion(ENV, 1, guarded(ORIGIN_5XX));
    const { gateway, far } = locations(ENV, c, failingOrigin("new-checkout", [true]));
    const onKey = await keyServed(far, "on");
    const res = await far.fetch("/v1/events", { headers: { accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    /** Reads until `pattern` shows up, or fails after `ms` of real time. */
    const until = async (pattern: RegExp, ms: number) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(text)) {
        const left = deadline - Date.now();
        expect(left, `waiting for ${pattern} in ${JSON.stringify(text)}`).toBeGreaterThan(0);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), left)),
        ]);
        if (chunk?.value) text += decoder.decode(chunk.value, { stream: true });
        if (chunk?.done) break;
      }
    };
    try {
      await until(/id: 1\n/, 3000);
      text = "";
      await traffic(gateway, 80);
      // Reading the board flushes the gateway's counts, and the aggregator judges them.
      expect((await guardsOf(gateway, "/__edgeflags")).trips).toHaveLength(1);
      // The far location applies the trip at its next signal checks; its open streams hear of it.
      let waited = 0;
      while ((await evaluateFlag(far, "new-checkout", onKey)).variant !== "off") {
        c.advance(STEP_MS);
        waited += STEP_MS;
        expect(waited).toBeLessThanOrEqual(BOUND_MS);
      }
      await until(/id: 1\.\d+\ndata: \{"type":"refetchEvaluation","etag":"1"/, 3000);
      // Its id carries the guard state's generation, so a reconnect after it is told nothing new.
      const id = /id: (1\.\d+)/.exec(text)?.[1] as string;
      const again = await far.fetch("/v1/events", { headers: { "last-event-id": id } });
      const againReader = (again.body as ReadableStream<Uint8Array>).getReader();
      const first = decoder.decode((await againReader.read()).value);
      expect(first).toMatch(/^retry: \d+\n\n$/);
      await againReader.cancel();
    } finally {
      await reader.cancel();
    }
  });

  it("does not trip when only the control fails", async () => {
    const ENV = "guard-control-only";
    const c = clock();
    await publishVersion(ENV, 1, guarded(ORIGIN_5XX));
    const { gateway } = locations(ENV, c, failingOrigin("new-checkout", [false]));
    await traffic(gateway, 80);
    const board = await guardsOf(gateway, "/__edgeflags");
    expect(board.trips).toEqual([]);
    expect(board.guards[0]).toMatchObject({ state: "healthy" });
    expect(board.guards[0]!.variants.off!.value).toBe(1);
  });

  it("does not trip below the minimum samples", async () => {
    const ENV = "guard-few";
    const c = clock();
    await publishVersion(ENV, 1, guarded({ ...ORIGIN_5XX, minSamples: 500 }));
    const { gateway } = locations(ENV, c, failingOrigin("new-checkout", [true]));
    await traffic(gateway, 80);
    const board = await guardsOf(gateway, "/__edgeflags");
    expect(board.trips).toEqual([]);
    expect(board.guards[0]).toMatchObject({ state: "insufficient" });
  });

  it("trips on an absolute threshold of outcome-event error rate", async () => {
    const ENV = "guard-errors";
    const c = clock();
    await publishVersion(
      ENV,
      1,
      guarded({ metric: "error-rate", event: "checkout_failed", threshold: 0.2, minSamples: 10 }),
    );
    const api = harness({ EDGEFLAGS_ENV: ENV }, { now: c.now, random: () => 0, cache: null });
    for (let i = 0; i < 40; i++) {
      const key = `v-${i}`;
      const r = await evaluateFlag(api, "new-checkout", key);
      if (r.variant !== "on") continue;
      const res = await api.fetch("/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: [{ name: "checkout_failed" }], context: { targetingKey: key } }),
      });
      expect(res.status).toBe(204);
    }
    const board = await guardsOf(api);
    expect(board.trips).toHaveLength(1);
    expect(board.trips[0]).toMatchObject({
      metric: "error-rate",
      variant: "on",
      value: 1,
      control: null,
      limit: 0.2,
    });
  });
});

describe("forged guard state and resets", () => {
  it("honours a trip only for a guarded flag of the served environment and version, and only as its off variant", async () => {
    const ENV = "guard-forged";
    const c = clock();
    await publishVersion(ENV, 3, guarded(ORIGIN_5XX));
    const far = harness({ EDGEFLAGS_ENV: ENV }, { now: c.now, random: () => 0, cache: null });
    const onKey = await keyServed(far, "on");
    const trip = (flag: string, variant = "on") => ({
      flag,
      variant,
      metric: "origin-5xx" as const,
      value: 1,
      control: 0,
      limit: 0.01,
      samples: 99,
      controlSamples: 99,
      at: new Date().toISOString(),
    });
    const forge = async (signal: Omit<GuardSignal, "gen">, gen: number) => {
      // An attacker who could write the beacon's state (it cannot be reached from outside the worker).
      await realBeacon(ENV).setGuards?.({ ...signal, gen });
      c.advance(BOUND_MS);
      await far.fetch("/v1/flags");
      c.advance(STEP_MS);
    };
    // Another version, another environment, an unguarded flag, a flag that does not exist.
    await forge({ environment: ENV, version: 2, trips: [trip("new-checkout")], released: {} }, 10);
    expect(await evaluateFlag(far, "new-checkout", onKey)).toMatchObject({ variant: "on" });
    await forge({ environment: "production", version: 3, trips: [trip("new-checkout")], released: {} }, 11);
    expect(await evaluateFlag(far, "new-checkout", onKey)).toMatchObject({ variant: "on" });
    await forge(
      { environment: ENV, version: 3, trips: [trip("banner", "a"), trip("nope")], released: {} },
      12,
    );
    expect(await evaluateFlag(far, "banner", onKey)).toMatchObject({ variant: "a", reason: "STATIC" });
    const health = await healthGuards(far);
    expect(health.trips).toEqual([]);
    expect(health.ignored.map((i) => [i.flag, i.why])).toEqual([
      ["banner", "the signed snapshot declares no guard for it"],
      ["nope", "no such flag in the served snapshot"],
    ]);
    // A trip naming the new variant as the one to serve still serves the off variant.
    await forge({ environment: ENV, version: 3, trips: [trip("new-checkout", "on")], released: {} }, 13);
    const offKey = await keyServed(
      harness({ EDGEFLAGS_ENV: ENV }, { cache: null, beacon: () => undefined }),
      "off",
    );
    for (const key of [onKey, offKey]) {
      expect(await evaluateFlag(far, "new-checkout", key)).toMatchObject({
        variant: "off",
        value: false,
        reason: "DISABLED",
      });
    }
  });

  it("refuses resets that are unsigned, foreign, for another version or without the publish token", async () => {
    const ENV = "guard-reset";
    const c = clock();
    await publishVersion(ENV, 1, guarded(ORIGIN_5XX));
    const { gateway, far } = locations(ENV, c, failingOrigin("new-checkout", [true]));
    await traffic(gateway, 80);
    expect((await guardsOf(gateway, "/__edgeflags")).trips).toHaveLength(1);
    const reset = async (token: string, headers: Record<string, string> = auth) =>
      far.fetch("/v1/guards/reset", {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ token }),
      });
    const sign = async (
      over: Partial<{ environment: string; version: number; flag: string }>,
      key = "primary",
    ) =>
      signGuardReset(
        { environment: ENV, version: 1, flag: "new-checkout", now: Date.now(), ...over },
        await signer(key as "primary"),
      );
    const good = await sign({});
    const cases: [string, Promise<Response>, number, string][] = [
      ["no publish token", reset(good, {}), 401, "unauthorized"],
      ["garbage", reset("not.a.token"), 422, "malformed"],
      ["an untrusted key", reset(await sign({}, "untrusted")), 422, "kid"],
      ["another version", reset(await sign({ version: 2 })), 422, "version"],
      ["another environment", reset(await sign({ environment: "production" })), 422, "environment"],
      ["an unguarded flag", reset(await sign({ flag: "banner" })), 422, "flag"],
    ];
    for (const [what, pending, status, problem] of cases) {
      const res = await pending;
      expect(res.status, what).toBe(status);
      expect(JSON.stringify(await res.json()), what).toContain(problem);
    }
    expect((await guardsOf(far)).trips).toHaveLength(1);

    const ok = await reset(good);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await guardsOf(far)).trips).toEqual([]);
    // Used once: the same token again is refused.
    const again = await reset(good);
    expect(again.status).toBe(422);
    expect(JSON.stringify(await again.json())).toContain("used");
    const onKey = await keyServed(far, "on");
    expect(await evaluateFlag(far, "new-checkout", onKey)).toMatchObject({ variant: "on", reason: "SPLIT" });
  });

  it("re-arms with a new version, and GET /v1/guards needs a token", async () => {
    const ENV = "guard-rearm";
    const c = clock();
    await publishVersion(ENV, 1, guarded(ORIGIN_5XX));
    const { gateway } = locations(ENV, c, failingOrigin("new-checkout", [true]));
    await traffic(gateway, 80);
    expect((await guardsOf(gateway, "/__edgeflags")).trips).toHaveLength(1);
    await publishVersion(ENV, 2, guarded(ORIGIN_5XX));
    const next = harness({ EDGEFLAGS_ENV: ENV, GATEWAY: "true", ORIGIN: failingOrigin("new-checkout", []) });
    await traffic(next, 10);
    const board = await guardsOf(next, "/__edgeflags");
    expect(board.version).toBe(2);
    expect(board.trips).toEqual([]);
    expect(board.history.map((t) => [t.flag, t.version])).toEqual([["new-checkout", 1]]);
    expect((await next.fetch("/__edgeflags/v1/guards")).status).toBe(401);
  });
});

describe("a health-gated progressive rollout", () => {
  const MIN = 60_000;
  /** Steps at `first` and `second` (epoch ms): the engine reads the real clock, the bake the test's. */
  function progressive(first: number, second: number): FlagsDocument {
    return {
      flags: {
        rollout: {
          clientVisible: true,
          fallthrough: {
            split: { off: 90, on: 10 },
            steps: [
              { at: new Date(first).toISOString(), split: { off: 50, on: 50 } },
              { at: new Date(second).toISOString(), split: { off: 0, on: 100 } },
            ],
          },
          guard: { metric: "error-rate", threshold: 0.2, minSamples: 3, window: "10m", bake: "30m" },
        },
      },
    };
  }
  /** Evaluations of `rollout` by 60 visitors (counted), and how many were served "on". */
  async function served(h: Harness): Promise<number> {
    let on = 0;
    for (let i = 0; i < 60; i++) if ((await evaluateFlag(h, "rollout", `u-${i}`)).variant === "on") on++;
    return on;
  }
  /** Advances the clock by `ms` in minute steps with traffic and a flush each minute. */
  async function bakeFor(h: Harness, c: Clock, ms: number): Promise<void> {
    for (let t = 0; t < ms; t += MIN) {
      c.advance(MIN);
      await served(h);
      await guardsOf(h);
    }
  }

  it("takes a step only after the signed time and the bake, and a trip halts it", async () => {
    const ENV = "guard-bake";
    const c = clock();
    const t0 = c.t;
    // The first step's signed time has come; the second's never does within the test.
    await publishVersion(ENV, 1, progressive(t0 - MIN, t0 + 1000 * MIN));
    const h = harness({ EDGEFLAGS_ENV: ENV }, { now: c.now, random: () => 0, cache: null });
    expect(await served(h)).toBeLessThan(15);
    // Past the first step's signed time but not baked 30 minutes: held at the base split.
    await bakeFor(h, c, 20 * MIN);
    expect((await healthGuards(h)).held).toEqual({ rollout: { served: 0, signed: 2 } });
    expect(await served(h)).toBeLessThan(15);
    // Healthy for 30 minutes: one step, then the next bakes afresh.
    await bakeFor(h, c, 12 * MIN);
    let board = await guardsOf(h);
    expect(board.guards[0]!.bake).toMatchObject({ released: 1, steps: 2 });
    c.advance(BOUND_MS);
    await h.fetch("/v1/flags");
    expect((await healthGuards(h)).held).toEqual({ rollout: { served: 1, signed: 2 } });
    const half = await served(h);
    expect(half).toBeGreaterThan(20);
    expect(half).toBeLessThan(45);

    // Errors for the new variant trip the guard: the flag serves off, and the rollout stays held.
    for (let i = 0; i < 60; i++) {
      await h.fetch("/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: [{ name: "error" }], context: { targetingKey: `u-${i}` } }),
      });
    }
    board = await guardsOf(h);
    expect(board.trips.map((t) => t.flag)).toEqual(["rollout"]);
    await bakeFor(h, c, 40 * MIN);
    board = await guardsOf(h);
    expect(board.guards[0]!.bake).toMatchObject({ released: 1 });
    c.advance(BOUND_MS);
    await h.fetch("/v1/flags");
    expect(await served(h)).toBe(0);
  });

  it("a forged release cannot serve a step before its signed time", async () => {
    const ENV = "guard-bake-forged";
    const c = clock();
    const t0 = c.t;
    const doc = progressive(t0 + 5 * MIN, t0 + 10 * MIN);
    await publishVersion(ENV, 1, doc);
    const h = harness({ EDGEFLAGS_ENV: ENV }, { now: c.now, random: () => 0, cache: null });
    const { stepsFingerprint } = await import("../../src/guard/apply");
    await realBeacon(ENV).setGuards?.({
      environment: ENV,
      version: 1,
      gen: 99,
      trips: [],
      released: { rollout: { n: 2, h: stepsFingerprint(doc, "rollout") } },
    });
    c.advance(BOUND_MS);
    await h.fetch("/v1/flags");
    c.advance(STEP_MS);
    // Released in full, but the steps' signed times are still ahead: the base split serves.
    expect((await healthGuards(h)).held).toEqual({});
    expect(await served(h)).toBeLessThan(15);
  });
});
