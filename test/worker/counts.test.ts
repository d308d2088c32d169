/**
 * Evaluation counts in workerd: a bounded load run over every evaluation path (GET /v1/flags and
 * /v1/flags/:key, OFREP single and bulk, gateway gates and injection) reconciles exactly with the
 * aggregator Durable Object; counts split by variant and reason; the country dimension and its cap;
 * flushes that never block a response and carry every row in one call; missing bindings turn counting
 * off with a note; and GET /v1/stats refuses missing and wrong tokens with the documented bodies.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { createApp } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import type { Aggregator, CountBatch, StatsAnswer } from "../../src/observe/types";
import { gatewayFlags, originBinding } from "./gateway-helpers";
import { type Harness, harness, ofrepInit, publishToKv, sampleFlags, snapshot, testEnv } from "./helpers";

const TOKEN = "test-publish-token";
const auth = { authorization: `Bearer ${TOKEN}` };

async function publish(environment: string, flags: FlagsDocument = sampleFlags): Promise<void> {
  await publishToKv(await snapshot({ environment, version: 1, flags }), environment);
}

/** Counts the stats endpoint reports, as `flag|variant|reason` -> count. */
async function reported(h: Harness, prefix = ""): Promise<Map<string, number>> {
  const res = await h.fetch(`${prefix}/v1/stats?since=1h`, { headers: auth });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as StatsAnswer;
  const out = new Map<string, number>();
  for (const f of body.flags) {
    let sum = 0;
    for (const v of f.variants) {
      for (const [reason, n] of Object.entries(v.reasons))
        out.set(`${f.key}|${v.variant ?? ""}|${reason}`, n);
      expect(v.points.reduce((s, [, n]) => s + n, 0)).toBe(v.total);
      sum += v.total;
    }
    expect(f.total).toBe(sum);
  }
  return out;
}

function add(m: Map<string, number>, key: string, n = 1): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

/** An Analytics Engine double that records every data point. */
function recordingDataset() {
  const points: { blobs: string[]; doubles: number[]; indexes: string[] }[] = [];
  return { points, writeDataPoint: (p: (typeof points)[number]) => void points.push(p) };
}

/** The real aggregator namespace, wrapped to count and keep what each flush sends. */
function countingAggregator(hold?: Promise<void>) {
  const real = testEnv.AGGREGATOR as DurableObjectNamespace;
  const batches: CountBatch[] = [];
  const ns = {
    idFromName: (name: string) => real.idFromName(name),
    get(id: DurableObjectId): Aggregator {
      const stub = real.get(id) as unknown as Aggregator;
      return {
        async add(batch) {
          batches.push(batch);
          if (hold) await hold;
          return stub.add(batch);
        },
        stats: (q) => stub.stats(q),
      };
    },
  };
  return { batches, ns: ns as unknown as DurableObjectNamespace };
}

describe("a bounded load run over every evaluation path", () => {
  it("reconciles exactly with the aggregator's counts", async () => {
    const ENV = "counts-load";
    await publish(ENV, gatewayFlags);
    const api = harness({ EDGEFLAGS_ENV: ENV });
    const gw = harness({
      EDGEFLAGS_ENV: ENV,
      GATEWAY: "true",
      ORIGIN: originBinding,
      DECISION_HEADER: "true",
    });
    const expected = new Map<string, number>();
    const countries = [
      { country: "US", continent: "NA" },
      { country: "DE", continent: "EU" },
      { country: "RU", continent: "EU" },
    ];
    type Details = Record<string, { variant?: string; reason: string }>;
    // What every client-visible flag serves in each country, from a counted request of its own.
    const reference = new Map<string, Details>();
    for (const cf of countries) {
      const res = await api.fetch("/v1/flags?details=1", { cf });
      const { flags } = (await res.json()) as { flags: Details };
      reference.set(cf.country, flags);
      for (const [k, d] of Object.entries(flags)) add(expected, `${k}|${d.variant ?? ""}|${d.reason}`);
    }
    const ROUNDS = 12;
    let requests = countries.length;
    for (let i = 0; i < ROUNDS; i++) {
      const cf = countries[i % countries.length]!;
      const key = `user-${i}`;
      const ref = reference.get(cf.country)!;
      const all = () => {
        for (const [k, d] of Object.entries(ref)) add(expected, `${k}|${d.variant ?? ""}|${d.reason}`);
      };

      // GET /v1/flags, with details, and again with its ETag (a 304 serves the same flags).
      const bulk = await api.fetch(`/v1/flags?targetingKey=${key}&details=1`, { cf });
      const body = (await bulk.json()) as { flags: Details };
      for (const [k, d] of Object.entries(body.flags)) add(expected, `${k}|${d.variant ?? ""}|${d.reason}`);
      const again = await api.fetch(`/v1/flags?targetingKey=${key}&details=1`, {
        cf,
        headers: { "if-none-match": bulk.headers.get("etag") as string },
      });
      expect(again.status).toBe(304);
      for (const [k, d] of Object.entries(body.flags)) add(expected, `${k}|${d.variant ?? ""}|${d.reason}`);

      // GET /v1/flags/:key, a server-only flag with the API key.
      const one = await api.fetch(`/v1/flags/admin?targetingKey=${key}`, {
        cf,
        headers: { "x-api-key": "test-server-key" },
      });
      const o = (await one.json()) as { variant: string; reason: string };
      add(expected, `admin|${o.variant}|${o.reason}`);

      // OFREP single and bulk.
      const single = await api.fetch(
        "/ofrep/v1/evaluate/flags/eu-promo",
        ofrepInit({ targetingKey: key }, { cf }),
      );
      const s = (await single.json()) as { variant: string; reason: string };
      add(expected, `eu-promo|${s.variant}|${s.reason}`);
      const ofrepBulk = await api.fetch("/ofrep/v1/evaluate/flags", ofrepInit({ targetingKey: key }, { cf }));
      const b = (await ofrepBulk.json()) as { flags: { key: string; variant: string; reason: string }[] };
      for (const f of b.flags) add(expected, `${f.key}|${f.variant}|${f.reason}`);

      // Gateway: a gated page (the gate flag, then every client flag forwarded and injected when it
      // passes), and an ungated page (every client flag forwarded to the origin).
      const gated = await gw.fetch("/checkout/cart", { cf });
      const decision = gated.headers.get("x-edgeflags-decision") ?? "";
      expect(decision).toContain("flag=checkout-geo");
      const gate = ref["checkout-geo"]!;
      expect(decision).toContain(`variant=${gate.variant}`);
      add(expected, `checkout-geo|${gate.variant}|${gate.reason}`);
      if (gated.status < 400) all();
      await gated.body?.cancel();
      const open = await gw.fetch("/html/home", { cf });
      expect(open.status).toBe(200);
      all();
      await open.text();
      requests += 7;
    }
    const total = [...expected.values()].reduce((a, n) => a + n, 0);
    expect(requests).toBe(3 + 7 * ROUNDS);
    expect(total).toBeGreaterThan(200);

    // Each "isolate" (harness) flushes its own pending counts when asked for stats.
    await reported(gw, "/__edgeflags");
    const counted = await reported(api);
    expect(Object.fromEntries([...counted].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });
});

describe("counts split by variant and reason", () => {
  const cases: [string, string, string, RequestInit & { cf?: Record<string, unknown> }][] = [
    ["/v1/flags/new-checkout?plan=enterprise", "new-checkout", "on|TARGETING_MATCH", {}],
    ["/v1/flags/new-checkout?plan=free", "new-checkout", "off|DEFAULT", {}],
    ["/v1/flags/banner-text (DE)", "banner-text", "hallo|TARGETING_MATCH", { cf: { country: "DE" } }],
    ["/v1/flags/banner-text (US)", "banner-text", "hello|DEFAULT", { cf: { country: "US" } }],
    ["/v1/flags/half-rollout?targetingKey=user-1", "half-rollout", "SPLIT", {}],
  ];
  it.each(cases)("GET %s counts %s as %s", async (label, flag, outcome, init) => {
    const path = label.replace(/ \(.*\)$/, "");
    const ENV = `counts-split-${cases.findIndex((c) => c[0] === label)}`;
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const res = await h.fetch(path, init);
    const served = (await res.json()) as { variant: string; reason: string };
    expect(`${served.variant}|${served.reason}`).toMatch(new RegExp(`${outcome}$`));
    const counted = await reported(h);
    expect(Object.fromEntries(counted)).toEqual({ [`${flag}|${served.variant}|${served.reason}`]: 1 });
  });
});

describe("isolate sampling (COUNTS_SAMPLE)", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["a sampled isolate writes every row, weighted 1/p", 0.049, [1, 0, 20]],
    ["an isolate outside the share writes nothing to Analytics Engine", 0.05, undefined],
  ] as [string, number, number[] | undefined][])("%s", async (_, draw, doubles) => {
    const ENV = `counts-sample-${doubles ? "in" : "out"}`;
    await publish(ENV);
    const ae = recordingDataset();
    vi.spyOn(Math, "random").mockReturnValue(draw);
    const h = harness({
      EDGEFLAGS_ENV: ENV,
      COUNTS_SAMPLE: "0.05",
      EF_COUNTS: ae as unknown as AnalyticsEngineDataset,
    });
    await h.fetch("/v1/flags/banner-text", { cf: { country: "DE" } });
    await h.fetch("/v1/flags/banner-text", { cf: { country: "DE" } });
    // The aggregator (local, guards) always counts everything.
    expect(Object.fromEntries(await reported(h))).toEqual({ "banner-text|hallo|TARGETING_MATCH": 2 });
    expect(ae.points.map((p) => p.doubles)).toEqual(doubles ? [[2, 0, 20]] : []);
    const health = (await (await h.fetch("/healthz")).json()) as { counts: { sinks: string[] } };
    expect(health.counts.sinks).toEqual(doubles ? ["analytics-engine", "aggregator"] : ["aggregator"]);
  });

  it("with no aggregator, an isolate outside the share counts nothing and /healthz says why", async () => {
    const ENV = "counts-sample-off";
    await publish(ENV);
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const h = harness({
      EDGEFLAGS_ENV: ENV,
      COUNTS_SAMPLE: "0.1",
      AGGREGATOR: undefined,
      EF_COUNTS: recordingDataset() as unknown as AnalyticsEngineDataset,
    });
    expect((await h.fetch("/v1/flags/banner-text")).status).toBe(200);
    const health = (await (await h.fetch("/healthz")).json()) as { counts: unknown };
    expect(health.counts).toEqual({
      enabled: false,
      reason: "this isolate is not in the COUNTS_SAMPLE=0.1 share that writes to Analytics Engine",
    });
  });

  it.each([
    "0",
    "1.5",
    "-1",
    "half",
  ])("COUNTS_SAMPLE=%s is refused with a warning: every isolate counts", async (value) => {
    const ENV = "counts-sample-bad";
    await publish(ENV);
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const ae = recordingDataset();
    const h = harness({
      EDGEFLAGS_ENV: ENV,
      COUNTS_SAMPLE: value,
      EF_COUNTS: ae as unknown as AnalyticsEngineDataset,
    });
    const health = (await (await h.fetch("/healthz")).json()) as {
      counts: { sinks: string[] };
      warnings?: string[];
    };
    expect(health.counts.sinks).toContain("analytics-engine");
    expect(health.warnings).toContain(
      `COUNTS_SAMPLE=${JSON.stringify(value)} is not a number above 0 and at most 1; using the default 1`,
    );
  });
});

describe("the country dimension", () => {
  it("is off by default: rows carry no country", async () => {
    const ENV = "counts-no-country";
    await publish(ENV);
    const ae = recordingDataset();
    const h = harness({ EDGEFLAGS_ENV: ENV, EF_COUNTS: ae as unknown as AnalyticsEngineDataset });
    await h.fetch("/v1/flags/banner-text", { cf: { country: "DE" } });
    await reported(h);
    expect(ae.points).toEqual([
      {
        blobs: [ENV, "banner-text", "hallo", "TARGETING_MATCH", ""],
        doubles: [1, 0, 1],
        indexes: ["banner-text"],
      },
    ]);
  });

  it("counts request.cf.country only (never a header), capped per window with an `other` bucket", async () => {
    const ENV = "counts-country";
    await publish(ENV);
    const ae = recordingDataset();
    const h = harness({
      EDGEFLAGS_ENV: ENV,
      EF_COUNTS: ae as unknown as AnalyticsEngineDataset,
      COUNTS_COUNTRY: "true",
      COUNTS_COUNTRY_LIMIT: "3",
      GEO_HEADER_FALLBACK: "true",
    });
    const visits: [Record<string, unknown> | undefined, number][] = [
      [{ country: "US" }, 3],
      [{ country: "DE" }, 2],
      [undefined, 1], // no cf: XX, whatever a CF-IPCountry header says
      [{ country: "FR" }, 2], // past the cap: other
      [{ country: "JP" }, 1], // past the cap: other
      [{ country: "US" }, 1],
    ];
    for (const [cf, n] of visits) {
      for (let i = 0; i < n; i++) {
        await h.fetch("/v1/flags/new-checkout", { ...(cf ? { cf } : {}), headers: { "cf-ipcountry": "CH" } });
      }
    }
    await reported(h);
    const byCountry = Object.fromEntries(ae.points.map((p) => [p.blobs[4], p.doubles[0]]));
    expect(byCountry).toEqual({ US: 4, DE: 2, XX: 1, other: 3 });
  });
});

describe("flushing", () => {
  it("never blocks a response, even when the sink never answers", async () => {
    const ENV = "counts-stuck";
    await publish(ENV);
    const gate: { open?: () => void } = {};
    const stuck = countingAggregator(
      new Promise<void>((resolve) => {
        gate.open = resolve;
      }),
    );
    const app = createApp({ log: () => {} });
    // One row fills the table: every request's counting flushes at once, in the background.
    const env = { ...testEnv, EDGEFLAGS_ENV: ENV, AGGREGATOR: stuck.ns, COUNTS_MAX_ROWS: "1" } as Env;
    const ctx = createExecutionContext();
    const req = new Request("https://flags.example.test/v1/flags/new-checkout");
    const res = await app.fetch(req, env, ctx);
    expect(res.status).toBe(200);
    expect(stuck.batches).toHaveLength(1);
    gate.open?.();
    await waitOnExecutionContext(ctx);
  });

  it("sends a window's rows in one call, not a request per row or per evaluation", async () => {
    const ENV = "counts-one-call";
    await publish(ENV);
    const agg = countingAggregator();
    const ae = recordingDataset();
    const h = harness({
      EDGEFLAGS_ENV: ENV,
      AGGREGATOR: agg.ns,
      EF_COUNTS: ae as unknown as AnalyticsEngineDataset,
    });
    for (let i = 0; i < 25; i++) await h.fetch(`/v1/flags?targetingKey=user-${i}`);
    expect(agg.batches).toHaveLength(0);
    await reported(h);
    expect(agg.batches).toHaveLength(1);
    const rows = agg.batches[0]!.rows;
    // Three client flags; half-rollout splits the 25 users over its two variants.
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(75);
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(ae.points).toHaveLength(rows.length);
  });
});

describe("without bindings", () => {
  it.each([
    ["no binding", { AGGREGATOR: undefined, EF_COUNTS: undefined }, "no EF_COUNTS or AGGREGATOR binding"],
    ["COUNTS=false", { COUNTS: "false" }, "COUNTS is false"],
  ] as [
    string,
    Partial<Env>,
    string,
  ][])("%s: counting is off, said by /healthz, never an error", async (_, o, reason) => {
    const ENV = `counts-off-${reason.length}`;
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, ...o });
    expect((await h.fetch("/v1/flags")).status).toBe(200);
    expect((await h.fetch("/ofrep/v1/evaluate/flags", ofrepInit({}))).status).toBe(200);
    const health = (await (await h.fetch("/healthz")).json()) as { counts: unknown };
    expect(health.counts).toEqual({ enabled: false, reason });
  });

  it("answers /v1/stats with stats_disabled when there is no aggregator to read", async () => {
    const h = harness({ EDGEFLAGS_ENV: "counts-no-agg", AGGREGATOR: undefined });
    const res = await h.fetch("/v1/stats", { headers: auth });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("stats_disabled");
  });

  it("says on /healthz what it counts with when on", async () => {
    const ENV = "counts-on";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const health = (await (await h.fetch("/healthz")).json()) as { counts: Record<string, unknown> };
    expect(health.counts).toMatchObject({
      enabled: true,
      sinks: ["analytics-engine", "aggregator"],
      flushSeconds: 60,
      country: false,
    });
  });
});

describe("GET /v1/stats", () => {
  const unauthorized = { error: "unauthorized", message: "missing or invalid credentials" };
  it.each([
    ["no token", {}, 401, unauthorized],
    ["a wrong token", { authorization: "Bearer nope" }, 401, unauthorized],
    ["a token in the wrong scheme", { authorization: `Basic ${TOKEN}` }, 401, unauthorized],
  ] as [
    string,
    Record<string, string>,
    number,
    unknown,
  ][])("refuses %s", async (_, headers, status, body) => {
    const res = await harness({ EDGEFLAGS_ENV: "counts-auth" }).fetch("/v1/stats", { headers });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
  });

  it("takes STATS_TOKEN (read-only: it cannot publish) as well as the publish token", async () => {
    const h = harness({ EDGEFLAGS_ENV: "counts-auth", STATS_TOKEN: "read-only" });
    expect((await h.fetch("/v1/stats", { headers: { authorization: "Bearer read-only" } })).status).toBe(200);
    expect((await h.fetch("/v1/stats", { headers: auth })).status).toBe(200);
    const put = await h.fetch("/v1/snapshot", {
      method: "PUT",
      headers: { authorization: "Bearer read-only", "content-type": "application/jose" },
      body: "x",
    });
    expect(put.status).toBe(401);
  });

  it("is off without any token configured", async () => {
    const h = harness({ EDGEFLAGS_ENV: "counts-auth", PUBLISH_TOKEN: undefined });
    const res = await h.fetch("/v1/stats", { headers: auth });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("stats_disabled");
  });

  it.each([
    ["since=2d"],
    ["since=0m"],
    ["since=1y"],
    ["since=-1h"],
    ["flag="],
  ])("refuses ?%s with a short bad_request body", async (query) => {
    const res = await harness({ EDGEFLAGS_ENV: "counts-auth" }).fetch(`/v1/stats?${query}`, {
      headers: auth,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("bad_request");
    expect(body.message.length).toBeLessThan(100);
  });

  it("answers one flag's per-minute counts and its last evaluated time", async () => {
    const ENV = "counts-one-flag";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    for (let i = 0; i < 4; i++) await h.fetch(`/v1/flags?targetingKey=u${i}`);
    const before = Date.now();
    const res = await h.fetch("/v1/stats?flag=new-checkout&since=90m", { headers: auth });
    const body = (await res.json()) as StatsAnswer & { counting: string };
    expect(body.environment).toBe(ENV);
    expect(body.counting).toBe("on");
    expect(body.bucketSeconds).toBe(60);
    expect(body.flags.map((f) => f.key)).toEqual(["new-checkout"]);
    const [f] = body.flags;
    expect(f!.total).toBe(4);
    expect(f!.variants).toEqual([
      { variant: "off", total: 4, reasons: { DEFAULT: 4 }, points: [[expect.any(String), 4]], outcomes: {} },
    ]);
    expect(Date.parse(f!.lastEvaluated as string)).toBeLessThanOrEqual(before + 1000);
    const none = await h.fetch("/v1/stats?flag=never-evaluated", { headers: auth });
    expect(((await none.json()) as StatsAnswer).flags).toEqual([
      { key: "never-evaluated", lastEvaluated: null, total: 0, variants: [] },
    ]);
  });
});

describe("the aggregator", () => {
  const stub = (environment: string) => {
    const ns = testEnv.AGGREGATOR as DurableObjectNamespace;
    return ns.get(ns.idFromName(environment)) as unknown as Aggregator;
  };
  const row = (count: number, variant = "on") => ({
    flag: "f",
    variant,
    reason: "SPLIT",
    country: "",
    count,
  });
  const minute = (ago: number) => (Math.floor(Date.now() / 60_000) - ago) * 60_000;

  it("keeps per-minute buckets: flushes add up in memory, a minute is written once it is over", async () => {
    const agg = stub("agg-minutes");
    await agg.add({ environment: "e", from: minute(3) + 1000, to: minute(3) + 9000, rows: [row(2)] });
    await agg.add({
      environment: "e",
      from: minute(3) + 10_000,
      to: minute(3) + 19_000,
      rows: [row(3), row(1, "off")],
    });
    await agg.add({ environment: "e", from: minute(1), to: minute(1) + 5000, rows: [row(4)] });
    const stats = await agg.stats({ flag: "f", since: Date.now() - 10 * 60_000, now: Date.now() });
    expect(stats.flags[0]!.variants).toEqual([
      {
        variant: "off",
        total: 1,
        reasons: { SPLIT: 1 },
        points: [[new Date(minute(3)).toISOString(), 1]],
        outcomes: {},
      },
      {
        variant: "on",
        total: 9,
        reasons: { SPLIT: 9 },
        points: [
          [new Date(minute(3)).toISOString(), 5],
          [new Date(minute(1)).toISOString(), 4],
        ],
        outcomes: {},
      },
    ]);
    expect(stats.flags[0]!.lastEvaluated).toBe(new Date(minute(1) + 5000).toISOString());
  });

  it("keeps outcome events in a table of their own: added up across flushes and minutes, per variant", async () => {
    const agg = stub("agg-outcomes");
    const o = (count: number, event = "error", variant = "on") => ({ flag: "f", variant, event, count });
    await agg.add({
      environment: "e",
      from: minute(3),
      to: minute(3) + 1000,
      rows: [row(2)],
      outcomes: [o(2)],
    });
    await agg.add({
      environment: "e",
      from: minute(3) + 2000,
      to: minute(3) + 3000,
      rows: [],
      outcomes: [o(1), o(4, "buy")],
    });
    await agg.add({
      environment: "e",
      from: minute(1),
      to: minute(1) + 1000,
      rows: [],
      outcomes: [o(5, "error", "off")],
    });
    const stats = await agg.stats({ flag: "f", since: Date.now() - 10 * 60_000, now: Date.now() });
    expect(stats.flags[0]!.variants.map((v) => [v.variant, v.total, v.outcomes])).toEqual([
      ["on", 2, { buy: 4, error: 3 }],
      // A variant with outcomes and no evaluation counted in the range still shows.
      ["off", 0, { error: 5 }],
    ]);
  });

  it("answers nothing older than 24 hours, but keeps the last evaluated time", async () => {
    const agg = stub("agg-retention");
    const old = Date.now() - 25 * 3_600_000;
    await agg.add({ environment: "e", from: old, to: old + 1000, rows: [row(7)] });
    const stats = await agg.stats({ since: Date.now() - 24 * 3_600_000, now: Date.now() });
    expect(stats.flags).toEqual([
      { key: "f", lastEvaluated: new Date(old + 1000).toISOString(), total: 0, variants: [] },
    ]);
  });
});
