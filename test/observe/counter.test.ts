/**
 * The isolate-memory counter with a fake clock and a recording sink: windows end at most every
 * flushMs and at each full minute, a full table flushes at once, rows fold results of different rules
 * together, the country cap, the Analytics Engine sink's per-invocation budget; and the hot path's
 * cost per result (printed, not asserted: the machine is shared).
 */
import { describe, expect, it } from "vitest";
import { compile, evaluateAll } from "../../src/eval/index";
import { served } from "../../src/eval/reasons";
import type { EvaluationResult } from "../../src/eval/types";
import type { FlagsDocument } from "../../src/flags/types";
import { EvaluationCounter } from "../../src/observe/counter";
import { AE_POINTS_PER_FLUSH, analyticsEngineSink } from "../../src/observe/sinks";
import type { CountBatch, CountSink } from "../../src/observe/types";

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);

function recorder(): CountSink & { batches: CountBatch[] } {
  const batches: CountBatch[] = [];
  return { name: "test", batches, write: (b) => void batches.push(b) };
}

function counter(options: Partial<ConstructorParameters<typeof EvaluationCounter>[0]> = {}, now = T0) {
  const sink = recorder();
  const c = new EvaluationCounter(
    {
      environment: "test",
      sinks: [sink],
      flushMs: 10_000,
      maxRows: 1000,
      country: false,
      countryLimit: 20,
      ...options,
    },
    now,
  );
  const pending: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => void pending.push(p);
  return { c, sink, waitUntil, settle: () => Promise.all(pending) };
}

const on = served("f", "boolean", "on", true, "TARGETING_MATCH", "rule-a");
const onOtherRule = served("f", "boolean", "on", true, "TARGETING_MATCH", "rule-b");
const off = served("f", "boolean", "off", false, "DEFAULT", "fallthrough");

describe("windows", () => {
  it.each([
    ["before the deadline: nothing flushed", 9_999, 0],
    ["at the deadline: the window is flushed", 10_000, 1],
  ])("%s", async (_, later, flushes) => {
    const { c, sink, waitUntil, settle } = counter();
    c.count(on, undefined, T0, waitUntil);
    c.count(on, undefined, T0 + later, waitUntil);
    await settle();
    expect(sink.batches).toHaveLength(flushes);
    if (flushes) expect(sink.batches[0]).toMatchObject({ from: T0, to: T0 + later, rows: [{ count: 1 }] });
  });

  it("flushes at most once per window, however many requests", async () => {
    const { c, sink, waitUntil, settle } = counter();
    for (let t = 0; t < 60_000; t += 100) c.count(on, undefined, T0 + t, waitUntil);
    await settle();
    // 0-10 s, 10-20 s, ... 40-50 s flushed; 50-60 s still in memory.
    expect(sink.batches).toHaveLength(5);
    expect(sink.batches.map((b) => b.rows[0]!.count)).toEqual([100, 100, 100, 100, 100]);
  });

  it("never lets a window cross a full minute, so each lies in one per-minute bucket", async () => {
    const { c, sink, waitUntil, settle } = counter({}, T0 + 55_000);
    c.count(on, undefined, T0 + 55_000, waitUntil);
    c.count(on, undefined, T0 + 60_000, waitUntil);
    await settle();
    expect(sink.batches).toHaveLength(1);
    expect(Math.floor(sink.batches[0]!.from / 60_000)).toBe(Math.floor((T0 + 55_000) / 60_000));
  });

  it("flushes a full table at once, and counts the rest of a bulk evaluation in the next", async () => {
    const { c, sink, waitUntil, settle } = counter({ maxRows: 3 });
    c.countAll([on, off, onOtherRule, on, on], undefined, T0, waitUntil);
    await settle();
    // Three distinct results fill the table (two rules' `on` fold into one row).
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]!.rows).toEqual([
      { flag: "f", variant: "on", reason: "TARGETING_MATCH", country: "", count: 2 },
      { flag: "f", variant: "off", reason: "DEFAULT", country: "", count: 1 },
    ]);
    expect(c.status().pendingCells).toBe(1);
    await c.flushNow(T0 + 1);
    expect(sink.batches[1]!.rows).toEqual([
      { flag: "f", variant: "on", reason: "TARGETING_MATCH", country: "", count: 2 },
    ]);
  });

  it("folds the results of different rules serving the same variant for the same reason", async () => {
    const { c, sink } = counter();
    const noop = () => {};
    c.countAll([on, onOtherRule, off, on], undefined, T0, noop);
    await c.flushNow(T0);
    expect(sink.batches[0]!.rows).toEqual([
      { flag: "f", variant: "on", reason: "TARGETING_MATCH", country: "", count: 3 },
      { flag: "f", variant: "off", reason: "DEFAULT", country: "", count: 1 },
    ]);
  });

  it("keeps counting when a sink fails, and says so in its status", async () => {
    const failing: CountSink = {
      name: "broken",
      write: () => Promise.reject(new Error("down")),
    };
    const logged: unknown[] = [];
    const c = new EvaluationCounter(
      {
        environment: "t",
        sinks: [failing],
        flushMs: 1000,
        maxRows: 10,
        country: false,
        countryLimit: 1,
        log: (e) => logged.push(e),
      },
      T0,
    );
    c.count(on, undefined, T0, () => {});
    await c.flushNow(T0);
    expect(c.status().lastError).toBe("broken: Error: down");
    expect(logged).toEqual([expect.objectContaining({ event: "counts_flush_failed", sink: "broken" })]);
  });
});

describe("countries", () => {
  it.each([
    ["US", "US"],
    ["T1", "T1"],
    [undefined, "XX"],
    ["usa", "XX"],
    [42, "XX"],
  ] as [unknown, string][])("request.cf.country %j counts as %s", async (country, code) => {
    const { c, sink } = counter({ country: true });
    c.count(on, country, T0, () => {});
    await c.flushNow(T0);
    expect(sink.batches[0]!.rows[0]!.country).toBe(code);
  });

  it("caps distinct countries per window, the rest go to `other`, and the cap resets each window", async () => {
    const { c, sink } = counter({ country: true, countryLimit: 2 });
    for (const cc of ["US", "DE", "FR", "US", "JP"]) c.count(on, cc, T0, () => {});
    await c.flushNow(T0);
    c.count(on, "JP", T0 + 1, () => {});
    await c.flushNow(T0 + 1);
    const rows = sink.batches.map((b) => Object.fromEntries(b.rows.map((r) => [r.country, r.count])));
    expect(rows).toEqual([{ US: 2, DE: 1, other: 2 }, { JP: 1 }]);
  });
});

describe("the Analytics Engine sink", () => {
  it("writes at most its per-invocation budget of data points a flush and carries the rest over", () => {
    const points: unknown[] = [];
    const sink = analyticsEngineSink({ writeDataPoint: (p) => void points.push(p) });
    const rows = Array.from({ length: AE_POINTS_PER_FLUSH + 50 }, (_, i) => ({
      flag: `f${i}`,
      variant: "on",
      reason: "STATIC",
      country: "",
      count: 1,
    }));
    sink.write({ environment: "e", from: T0, to: T0, rows });
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH);
    sink.write({ environment: "e", from: T0, to: T0, rows: [] });
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH + 50);
    expect(points[0]).toEqual({
      blobs: ["e", "f0", "on", "STATIC", ""],
      doubles: [1, 0, 1],
      indexes: ["f0"],
    });
    expect(sink.dropped()).toBe(0);
  });
});

describe("the Analytics Engine backlog", () => {
  it("is drained by later requests, one share per request, never twice in one", async () => {
    const points: unknown[] = [];
    const ae = analyticsEngineSink({ writeDataPoint: (p) => void points.push(p) });
    const c = new EvaluationCounter(
      { environment: "e", sinks: [ae], flushMs: 10_000, maxRows: 10_000, country: false, countryLimit: 1 },
      T0,
    );
    const many = Array.from({ length: AE_POINTS_PER_FLUSH * 2 + 10 }, (_, i) =>
      served(`f${i}`, "boolean", "on", true, "STATIC", undefined),
    );
    c.countAll(many, undefined, T0, () => {});
    await c.flushNow(T0);
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH);
    expect(c.status().backlog).toBe(AE_POINTS_PER_FLUSH + 10);
    // The same invocation (same clock reading) writes no more; each later request writes a share.
    c.count(on, undefined, T0, () => {});
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH);
    c.count(on, undefined, T0 + 1, () => {});
    c.count(on, undefined, T0 + 1, () => {});
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH * 2);
    c.count(on, undefined, T0 + 2, () => {});
    expect(points).toHaveLength(AE_POINTS_PER_FLUSH * 2 + 10);
    expect(c.status()).toMatchObject({ backlog: 0, dropped: 0, pendingCells: 1 });
  });
});

describe("cost of the hot path", () => {
  it("counts a 100-flag bulk evaluation in a small fraction of the evaluation's time", () => {
    const doc: FlagsDocument = { flags: {} };
    for (let i = 0; i < 100; i++) {
      doc.flags[`flag-${String(i).padStart(3, "0")}`] = {
        clientVisible: true,
        rules: [{ id: "pro", when: [{ attribute: "plan", op: "in", values: ["pro"] }], serve: "on" }],
        fallthrough: { split: { on: 50, off: 50 } },
      };
    }
    const compiled = compile(doc);
    const contexts = Array.from({ length: 64 }, (_, i) => ({
      targetingKey: `user-${i}`,
      attributes: { plan: i % 3 === 0 ? "pro" : "free" },
    }));
    const { c } = counter();
    const noop = () => {};
    const N = 3000;
    const all: EvaluationResult[][] = [];
    let t = performance.now();
    for (let i = 0; i < N; i++) all.push(evaluateAll(compiled, contexts[i % 64]!, T0));
    const evalMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < N; i++) c.countAll(all[i]!, undefined, T0, noop);
    const countMs = performance.now() - t;
    const perResultNs = (countMs * 1e6) / (N * 100);
    console.log(
      `evaluateAll (100 flags): ${((evalMs * 1000) / N).toFixed(1)} µs; countAll: ${((countMs * 1000) / N).toFixed(1)} µs (${perResultNs.toFixed(0)} ns per result)`,
    );
    expect(c.status().pendingCells).toBeLessThanOrEqual(300);
  });
});

describe("outcome events", () => {
  it("counts each event per served result, folds rules, skips results without a variant, in the same batch", async () => {
    const { c, sink, waitUntil } = counter();
    const noVariant = { ...off, variant: undefined } as EvaluationResult;
    c.count(on, undefined, T0, waitUntil);
    c.countOutcomes([on, off, noVariant], ["error", "error", "conversion"], T0, waitUntil);
    c.countOutcomes([onOtherRule], ["error"], T0, waitUntil);
    await c.flushNow(T0 + 1);
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]?.rows).toEqual([
      { flag: "f", variant: "on", reason: "TARGETING_MATCH", country: "", count: 1 },
    ]);
    expect(sink.batches[0]?.outcomes).toEqual([
      { flag: "f", variant: "on", event: "error", count: 3 },
      { flag: "f", variant: "on", event: "conversion", count: 1 },
      { flag: "f", variant: "off", event: "error", count: 2 },
      { flag: "f", variant: "off", event: "conversion", count: 1 },
    ]);
  });

  it("a table full of outcome cells flushes at once, and nothing is lost", async () => {
    const { c, sink, waitUntil, settle } = counter({ maxRows: 3 });
    c.countOutcomes([on, off], ["a", "b", "c"], T0, waitUntil);
    await settle();
    await c.flushNow(T0 + 1);
    const all = sink.batches.flatMap((b) => b.outcomes ?? []);
    expect(sink.batches.length).toBeGreaterThanOrEqual(2);
    expect(all.reduce((n, r) => n + r.count, 0)).toBe(6);
  });

  it("writes outcome rows to Analytics Engine with the event in blob6 and the count in double2", () => {
    const points: { blobs: string[]; doubles: number[]; indexes: string[] }[] = [];
    const ae = analyticsEngineSink({ writeDataPoint: (p) => void points.push(p) });
    ae.write({
      environment: "e",
      from: T0,
      to: T0,
      rows: [],
      outcomes: [{ flag: "f", variant: "on", event: "error", count: 4 }],
    });
    expect(points).toEqual([
      { blobs: ["e", "f", "on", "", "", "error"], doubles: [0, 4, 1], indexes: ["f"] },
    ]);
  });
});
