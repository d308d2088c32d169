/** Guards in the flags file: what validation accepts and refuses (with paths), and file:line errors. */
import { describe, expect, it } from "vitest";
import { parseFlagsFile } from "../../src/flags/parse";
import { validateDocument } from "../../src/flags/validate";

const flag = (guard: unknown, extra: Record<string, unknown> = {}) => ({
  flags: { f: { fallthrough: { split: { off: 50, on: 50 } }, guard, ...extra } },
});
const problemsOf = (doc: unknown) => {
  const r = validateDocument(doc);
  return r.ok ? [] : r.problems.map((p) => ({ path: p.path, message: p.message }));
};
const STEPS = {
  split: { off: 90, on: 10 },
  steps: [{ at: "2030-01-01T00:00:00Z", split: { off: 50, on: 50 } }],
};

describe("a flag's guard", () => {
  it.each<[string, unknown]>([
    ["relative origin 5xx", { metric: "origin-5xx", relative: { ratio: 2, margin: 0.01 } }],
    [
      "absolute error rate of a named event",
      { metric: "error-rate", event: "checkout_failed", threshold: 0.05 },
    ],
    [
      "latency p99 with samples and window",
      { metric: "origin-latency", percentile: 99, threshold: 800, minSamples: 50, window: "1h" },
    ],
    ["another control", { metric: "origin-5xx", threshold: 0.1, control: "on" }],
  ])("accepts %s", (_, guard) => {
    expect(problemsOf(flag(guard))).toEqual([]);
  });

  it("accepts a bake on a progressive fallthrough", () => {
    expect(
      problemsOf(flag({ metric: "origin-5xx", threshold: 0.1, bake: "30m" }, { fallthrough: STEPS })),
    ).toEqual([]);
  });

  it.each<[string, unknown, (string | number)[], string]>([
    ["no comparison", { metric: "origin-5xx" }, ["flags", "f", "guard"], "guard needs a comparison"],
    [
      "both comparisons",
      { metric: "origin-5xx", threshold: 0.1, relative: { ratio: 2 } },
      ["flags", "f", "guard"],
      "choose one",
    ],
    [
      "an unknown metric",
      { metric: "cpu", threshold: 1 },
      ["flags", "f", "guard", "metric"],
      'unknown guard metric "cpu"',
    ],
    [
      "a rate above 1",
      { metric: "origin-5xx", threshold: 5 },
      ["flags", "f", "guard", "threshold"],
      "is a rate",
    ],
    [
      "an event on origin metrics",
      { metric: "origin-5xx", threshold: 0.1, event: "x" },
      ["flags", "f", "guard", "event"],
      "error-rate only",
    ],
    [
      "a bad event name",
      { metric: "error-rate", threshold: 0.1, event: "@origin:5xx" },
      ["flags", "f", "guard", "event"],
      "invalid event name",
    ],
    [
      "a percentile on rates",
      { metric: "error-rate", threshold: 0.1, percentile: 99 },
      ["flags", "f", "guard", "percentile"],
      "origin-latency only",
    ],
    [
      "a percentile out of range",
      { metric: "origin-latency", threshold: 1, percentile: 100 },
      ["flags", "f", "guard", "percentile"],
      "from 50 to 99.9",
    ],
    [
      "an unknown control",
      { metric: "origin-5xx", threshold: 0.1, control: "nope" },
      ["flags", "f", "guard", "control"],
      'guard control "nope" is not a variant',
    ],
    [
      "a window too long",
      { metric: "origin-5xx", threshold: 0.1, window: "7h" },
      ["flags", "f", "guard", "window"],
      'from "1m" to "6h"',
    ],
    [
      "a malformed window",
      { metric: "origin-5xx", threshold: 0.1, window: "10 min" },
      ["flags", "f", "guard", "window"],
      "must look like",
    ],
    [
      "zero samples",
      { metric: "origin-5xx", threshold: 0.1, minSamples: 0 },
      ["flags", "f", "guard", "minSamples"],
      "whole number >= 1",
    ],
    [
      "a bake without steps",
      { metric: "origin-5xx", threshold: 0.1, bake: "30m" },
      ["flags", "f", "guard", "bake"],
      "progressive fallthrough",
    ],
    [
      "an unknown field",
      { metric: "origin-5xx", threshold: 0.1, windw: "1m" },
      ["flags", "f", "guard", "windw"],
      'did you mean "window"',
    ],
  ])("refuses %s", (_, guard, path, message) => {
    const problems = problemsOf(flag(guard));
    expect(
      problems.find((p) => p.message.includes(message)),
      JSON.stringify(problems),
    ).toMatchObject({ path });
  });

  it("refuses a guard with nothing to guard besides its control", () => {
    const problems = problemsOf({
      flags: {
        f: { variants: { off: false }, fallthrough: "off", guard: { metric: "origin-5xx", threshold: 0.1 } },
      },
    });
    expect(problems.map((p) => p.message)).toContain(
      'flag "f" has no variant to guard besides its control "off"',
    );
  });

  it("reports guard problems at their file line", () => {
    const yaml = [
      "flags:",
      "  f:",
      "    fallthrough: on",
      "    guard:",
      "      metric: origin-5xx",
      "      threshold: 3",
      "",
    ].join("\n");
    const parsed = parseFlagsFile(yaml, "flags.yaml");
    const problems = parsed.problems;
    expect(problems.map((p) => [p.line, p.message.slice(0, 40)])).toEqual([
      [6, expect.stringContaining("threshold 3 is a rate")],
    ]);
  });
});
