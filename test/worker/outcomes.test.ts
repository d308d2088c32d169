/**
 * Outcome events in workerd (POST /v1/events): the worker attributes each event to the variants it
 * serves the visitor (several flags, variants, forged claims ignored), takes what sendBeacon sends,
 * refuses large bodies before parsing, rate-limits per visitor, reconciles exactly in /v1/stats, and
 * degrades like counts without bindings.
 */
import { describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import type { StatsAnswer } from "../../src/observe/types";
import { type Harness, harness, publishToKv, sampleFlags, snapshot } from "./helpers";

const TOKEN = "test-publish-token";
const auth = { authorization: `Bearer ${TOKEN}` };

const flags: FlagsDocument = {
  flags: {
    ...sampleFlags.flags,
    // Five variants by plan and a split: several flags, each visitor served one variant of each.
    tier: {
      clientVisible: true,
      variants: { basic: "b", gold: "g", platinum: "p" },
      offVariant: "basic",
      rules: [
        { id: "gold", when: [{ attribute: "plan", op: "in", values: ["gold"] }], serve: "gold" },
        { id: "plat", when: [{ attribute: "plan", op: "in", values: ["platinum"] }], serve: "platinum" },
      ],
      fallthrough: "basic",
    },
  },
};

async function publish(environment: string): Promise<void> {
  await publishToKv(await snapshot({ environment, version: 1, flags }), environment);
}

/** Outcome counts /v1/stats reports, as `flag|variant|event` -> count. */
async function outcomes(h: Harness): Promise<Record<string, number>> {
  const res = await h.fetch("/v1/stats?since=1h", { headers: auth });
  expect(res.status, await res.clone().text()).toBe(200);
  const out: Record<string, number> = {};
  for (const f of ((await res.json()) as StatsAnswer).flags) {
    for (const v of f.variants) {
      for (const [event, n] of Object.entries(v.outcomes)) out[`${f.key}|${v.variant}|${event}`] = n;
    }
  }
  return out;
}

/** What GET /v1/flags serves this visitor: flag -> variant. */
async function served(h: Harness, query: string): Promise<Record<string, string>> {
  const res = await h.fetch(`/v1/flags?${query}&details=1`);
  const body = (await res.json()) as { flags: Record<string, { variant?: string }> };
  return Object.fromEntries(
    Object.entries(body.flags)
      .filter(([, d]) => d.variant !== undefined)
      .map(([k, d]) => [k, d.variant as string]),
  );
}

const post = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) => ({
  method: "POST",
  headers,
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("attribution by the worker", () => {
  type Visitor = { key: string; plan?: string; cf?: { country: string } };
  const visitors: Visitor[] = [
    { key: "user-1", plan: "enterprise", cf: { country: "DE" } },
    { key: "user-2", plan: "gold" },
    { key: "user-3", plan: "platinum", cf: { country: "US" } },
    { key: "user-4" },
    { key: "user-5", plan: "gold", cf: { country: "AT" } },
  ];

  it("attributes every event to the variant served, per flag x variant x event, whatever the client claims", async () => {
    const ENV = "outcomes-table";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const expected: Record<string, number> = {};
    for (const v of visitors) {
      const query = `targetingKey=${v.key}${v.plan ? `&plan=${v.plan}` : ""}`;
      const init = v.cf ? { cf: v.cf } : {};
      const res = await h.fetch(`/v1/flags?${query}&details=1`, init);
      const body = (await res.json()) as { flags: Record<string, { variant?: string }> };
      const variants = Object.fromEntries(Object.entries(body.flags).map(([k, d]) => [k, d.variant]));
      // Forged claims everywhere a client could put them: event details and context attributes name
      // the opposite variant of every flag. They are never read for attribution.
      const forged = {
        events: [
          { name: "error", details: { flag: "new-checkout", variant: "forged", variants } },
          { name: "conversion", value: 12.5, details: { variant: "platinum" } },
          { name: "error" },
        ],
        context: { targetingKey: v.key, ...(v.plan ? { plan: v.plan } : {}), variant: "forged" },
      };
      const sent = await h.fetch("/v1/events", { ...post(forged), ...init });
      expect(sent.status, await sent.clone().text()).toBe(204);
      for (const [flag, variant] of Object.entries(variants)) {
        if (variant === undefined) continue;
        expected[`${flag}|${variant}|error`] = (expected[`${flag}|${variant}|error`] ?? 0) + 2;
        expected[`${flag}|${variant}|conversion`] = (expected[`${flag}|${variant}|conversion`] ?? 0) + 1;
      }
    }
    // The table covers several variants of several flags.
    expect(Object.keys(expected).filter((k) => k.startsWith("tier|")).length).toBe(6);
    expect(Object.keys(expected).filter((k) => k.startsWith("new-checkout|")).length).toBe(4);
    expect(await outcomes(h)).toEqual(expected);
  });

  it("restricts attribution to a `flags` list, still with the served variants (hidden and unknown keys ignored)", async () => {
    const ENV = "outcomes-flags";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const mine = await served(h, "targetingKey=user-9&plan=gold");
    const res = await h.fetch(
      "/v1/events?targetingKey=user-9&plan=gold",
      post({
        events: [{ name: "error", details: { variant: "platinum" } }],
        // The query's plan is no attribute here: the body's context carries the visitor's attributes.
        context: { plan: "gold" },
        flags: ["tier", "admin", "no-such-flag", "tier"],
      }),
    );
    expect(res.status).toBe(204);
    expect(mine.tier).toBe("gold");
    expect(await outcomes(h)).toEqual({ "tier|gold|error": 1 });
  });

  it("takes the visitor from the X-Targeting-Key header and the ef_id cookie like /v1/flags", async () => {
    const ENV = "outcomes-keys";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const byHeader = await served(h, "targetingKey=hdr-7");
    const byCookie = await served(h, "targetingKey=cookie-8");
    await h.fetch(
      "/v1/events",
      post(
        { events: [{ name: "a" }], flags: ["half-rollout"] },
        {
          "content-type": "application/json",
          "x-targeting-key": "hdr-7",
        },
      ),
    );
    await h.fetch(
      "/v1/events",
      post(
        { events: [{ name: "b" }], flags: ["half-rollout"] },
        {
          "content-type": "application/json",
          cookie: "ef_id=cookie-8",
        },
      ),
    );
    expect(await outcomes(h)).toEqual({
      [`half-rollout|${byHeader["half-rollout"]}|a`]: 1,
      [`half-rollout|${byCookie["half-rollout"]}|b`]: 1,
    });
  });
});

describe("what the endpoint accepts", () => {
  it("takes sendBeacon's text/plain;charset=UTF-8 JSON and answers 204 without a body", async () => {
    const ENV = "outcomes-beacon";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const res = await h.fetch(
      "/v1/events?targetingKey=u1",
      post({ events: [{ name: "error" }] }, { "content-type": "text/plain;charset=UTF-8" }),
    );
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(Object.values(await outcomes(h)).reduce((a, n) => a + n, 0)).toBeGreaterThan(0);
  });

  it.each([
    [
      "unknown body field",
      { events: [{ name: "e" }], variant: "on" },
      400,
      "bad_request",
      /unknown field "variant"/,
    ],
    [
      "unknown event field",
      { events: [{ name: "e", variant: "on" }] },
      400,
      "bad_request",
      /events\[0\]: unknown field "variant"/,
    ],
    ["bad name", { events: [{ name: "no spaces" }] }, 400, "bad_request", /events\[0\]\.name/],
    ["long name", { events: [{ name: "x".repeat(65) }] }, 400, "bad_request", /events\[0\]\.name/],
    ["no events", { events: [] }, 400, "bad_request", /non-empty/],
    ["value not a number", { events: [{ name: "e", value: "1" }] }, 400, "bad_request", /value/],
    [
      "too many events",
      { events: Array.from({ length: 51 }, () => ({ name: "e" })) },
      400,
      "bad_request",
      /at most 50/,
    ],
    ["not JSON", "{events:", 400, "parse_error", /JSON/],
  ] as [
    string,
    unknown,
    number,
    string,
    RegExp,
  ][])("refuses %s (400 with its error code and message)", async (_, body, status, error, message) => {
    const ENV = "outcomes-refuse";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV });
    const res = await h.fetch("/v1/events?targetingKey=u1", post(body));
    expect(res.status).toBe(status);
    const b = (await res.json()) as { error: string; message: string };
    expect(b.error).toBe(error);
    expect(b.message).toMatch(message);
  });

  it("refuses other content types with 415", async () => {
    const h = harness({ EDGEFLAGS_ENV: "outcomes-refuse" });
    const res = await h.fetch(
      "/v1/events",
      post({ events: [{ name: "e" }] }, { "content-type": "text/html" }),
    );
    expect(res.status).toBe(415);
  });

  it("refuses a body over EVENTS_MAX_BODY_BYTES with 413 before parsing it", async () => {
    const ENV = "outcomes-size";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, EVENTS_MAX_BODY_BYTES: "100" } as never);
    // Not JSON at all: a parse would answer 400 parse_error, the limit answers first.
    const res = await h.fetch("/v1/events", post(`{${"x".repeat(200)}`, { "content-type": "text/plain" }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: "payload_too_large",
      message: "the request body is too large",
    });
    // Without Content-Length (a stream), too.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{${"x".repeat(200)}`));
        c.close();
      },
    });
    const chunked = await h.fetch("/v1/events", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });
});

describe("the per-visitor rate limit", () => {
  it("answers 429 with Retry-After and the documented body once a visitor's bucket is empty, others unaffected", async () => {
    const ENV = "outcomes-rate";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, EVENTS_BURST: "5", EVENTS_RATE_PER_MINUTE: "6" } as never);
    const three = { events: [{ name: "e" }, { name: "e" }, { name: "e" }] };
    expect((await h.fetch("/v1/events?targetingKey=greedy", post(three))).status).toBe(204);
    const refused = await h.fetch("/v1/events?targetingKey=greedy", post(three));
    expect(refused.status).toBe(429);
    // One token is missing, at 6 a minute: 10 s.
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await refused.json()).toEqual({
      error: "rate_limited",
      message: "too many events from this visitor; retry after the given seconds",
    });
    expect((await h.fetch("/v1/events?targetingKey=other", post(three))).status).toBe(204);
    // Refused events are not counted.
    const counted = await outcomes(h);
    expect(counted[`new-checkout|off|e`]).toBe(6);
  });

  it("keys visitors without a targeting key by client IP", async () => {
    const ENV = "outcomes-rate-ip";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, EVENTS_BURST: "2" } as never);
    const from = (ip: string) =>
      post(
        { events: [{ name: "e" }, { name: "e" }] },
        {
          "content-type": "application/json",
          "cf-connecting-ip": ip,
        },
      );
    expect((await h.fetch("/v1/events", from("192.0.2.1"))).status).toBe(204);
    expect((await h.fetch("/v1/events", from("192.0.2.1"))).status).toBe(429);
    expect((await h.fetch("/v1/events", from("192.0.2.2"))).status).toBe(204);
  });
});

describe("reconciliation", () => {
  it("N events in: exactly N attributed to each served variant in /v1/stats", async () => {
    const ENV = "outcomes-reconcile";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, EVENTS_BURST: "1000" } as never);
    const expected: Record<string, number> = {};
    let sent = 0;
    for (let i = 0; i < 40; i++) {
      const key = `load-${i}`;
      const mine = await served(h, `targetingKey=${key}`);
      const n = 1 + (i % 4);
      const res = await h.fetch(
        `/v1/events?targetingKey=${key}`,
        post({ events: Array.from({ length: n }, (_, j) => ({ name: j % 2 ? "conversion" : "error" })) }),
      );
      expect(res.status).toBe(204);
      sent += n;
      for (const [flag, variant] of Object.entries(mine)) {
        for (let j = 0; j < n; j++) {
          const id = `${flag}|${variant}|${j % 2 ? "conversion" : "error"}`;
          expected[id] = (expected[id] ?? 0) + 1;
        }
      }
    }
    const counted = await outcomes(h);
    expect(counted).toEqual(expected);
    // Every client-visible flag with a variant got every event exactly once.
    const perFlag: Record<string, number> = {};
    for (const [id, n] of Object.entries(counted)) {
      const flag = id.split("|")[0] as string;
      perFlag[flag] = (perFlag[flag] ?? 0) + n;
    }
    for (const n of Object.values(perFlag)) expect(n).toBe(sent);
    expect(Object.keys(perFlag).sort()).toEqual(["banner-text", "half-rollout", "new-checkout", "tier"]);
  });
});

describe("without bindings", () => {
  it("accepts events and counts nothing when counting is off, like evaluation counts", async () => {
    const ENV = "outcomes-off";
    await publish(ENV);
    const h = harness({ EDGEFLAGS_ENV: ENV, AGGREGATOR: undefined, EF_COUNTS: undefined });
    const res = await h.fetch("/v1/events?targetingKey=u1", post({ events: [{ name: "error" }] }));
    expect(res.status).toBe(204);
    const health = (await (await h.fetch("/healthz")).json()) as { counts: unknown };
    expect(health.counts).toEqual({ enabled: false, reason: "no EF_COUNTS or AGGREGATOR binding" });
    expect((await h.fetch("/v1/stats", { headers: auth })).status).toBe(403);
  });

  it("writes outcome rows to Analytics Engine with the event in blob6 and the count in double2", async () => {
    const ENV = "outcomes-ae";
    await publish(ENV);
    const points: { blobs: string[]; doubles: number[]; indexes: string[] }[] = [];
    const ae = { writeDataPoint: (p: (typeof points)[number]) => void points.push(p) };
    const h = harness({ EDGEFLAGS_ENV: ENV, EF_COUNTS: ae as unknown as AnalyticsEngineDataset });
    await h.fetch(
      "/v1/events?targetingKey=u1",
      post({ events: [{ name: "error" }], flags: ["new-checkout"] }),
    );
    await outcomes(h);
    expect(points).toEqual([
      { blobs: [ENV, "new-checkout", "off", "", "", "error"], doubles: [0, 1, 1], indexes: ["new-checkout"] },
    ]);
  });
});
