/**
 * What an explanation says, step by step: the steps reached in the contract's order, the values read,
 * the conditions' and segments' outcomes, geo matches, schedule windows and a split's bucket against
 * its ranges. Tables of (document, context, moment) -> expected steps.
 */
import { describe, expect, it } from "vitest";
import { bucketOf, murmur3Utf8 } from "../../src/eval/bucket";
import type { EvaluationContext } from "../../src/eval/types";
import { explainFlag } from "../../src/explain/index";
import type { StepTrace } from "../../src/explain/trace";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";

/** 2026-01-15T12:00:00Z, a Thursday (13:00 in Berlin). */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const doc = (f: FlagDefinition, more: Partial<FlagsDocument> = {}): FlagsDocument => ({
  flags: { f, ...(more.flags ?? {}) },
  segments: more.segments ?? {},
});

const stepNames = (steps: StepTrace[]) => steps.map((s) => (s.step === "rule" ? `rule:${s.id}` : s.step));

describe.each<[string, FlagsDocument, EvaluationContext, string[], Record<string, unknown>]>([
  [
    "the kill switch ends it",
    doc({ enabled: false, rules: [{ when: [], serve: "on" }], fallthrough: "on" }),
    {},
    ["enabled"],
    { value: false, reason: "DISABLED" },
  ],
  [
    "a geo block in DE serves the off variant before targets",
    doc({ geo: { block: { countries: ["DE"] } }, targets: { on: ["u"] }, fallthrough: "on" }),
    { targetingKey: "u", geo: { country: "DE" } },
    ["enabled", "geo"],
    { value: false, reason: "TARGETING_MATCH", ruleId: "geo" },
  ],
  [
    "the same flag in the US goes on to targets",
    doc({ geo: { block: { countries: ["DE"] } }, targets: { on: ["u"] }, fallthrough: "off" }),
    { targetingKey: "u", geo: { country: "US" } },
    ["enabled", "geo", "targets"],
    { value: true, reason: "TARGETING_MATCH", ruleId: "target" },
  ],
  [
    "rules in order until one matches",
    doc({
      rules: [
        { id: "pro", when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "on" },
        { id: "de", when: [{ attribute: "geo.country", op: "in", values: ["DE"] }], serve: "on" },
      ],
      fallthrough: "off",
    }),
    { attributes: { plan: "free" }, geo: { country: "DE" } },
    ["enabled", "rule:pro", "rule:de"],
    { value: true, reason: "TARGETING_MATCH", ruleId: "de" },
  ],
  [
    "no rule matches: the fallthrough",
    doc({
      rules: [{ id: "pro", when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "on" }],
      fallthrough: "off",
    }),
    {},
    ["enabled", "rule:pro", "fallthrough"],
    { value: false, reason: "DEFAULT", ruleId: "fallthrough" },
  ],
  [
    "nothing can vary: STATIC",
    doc({ fallthrough: "on" }),
    {},
    ["enabled", "fallthrough"],
    { value: true, reason: "STATIC" },
  ],
])("%s", (_, d, ctx, steps, result) => {
  it("reaches exactly these steps and this result", () => {
    const t = explainFlag(d, "f", ctx, NOW);
    expect(stepNames(t.steps)).toEqual(steps);
    expect(t.result).toMatchObject(result);
    // The last step reached is the one that decided; none before it did.
    expect(t.steps.map((s) => ("decides" in s ? s.decides : false))).toEqual(
      steps.map((__, i) => i === steps.length - 1),
    );
  });
});

describe("conditions and segments", () => {
  const d = doc(
    {
      rules: [
        {
          id: "r",
          when: [
            { attribute: "age", op: "gte", values: [18] },
            { attribute: "email", op: "ends_with", values: ["@example.com"] },
            { segment: "staff", negate: true },
            { segment: "beta" },
          ],
          serve: "on",
        },
      ],
      fallthrough: "off",
    },
    {
      segments: {
        staff: {
          included: ["ann"],
          rules: [{ when: [{ attribute: "email", op: "ends_with", values: ["@corp"] }] }],
        },
        beta: { excluded: ["bob"], rules: [{ when: [{ attribute: "beta", op: "exists" }] }] },
      },
    },
  );

  it("each condition with the value read and its outcome; segments with how membership was decided", () => {
    const t = explainFlag(
      d,
      "f",
      { targetingKey: "bob", attributes: { age: "21", email: "b@example.com" } },
      NOW,
    );
    const rule = t.steps[1] as StepTrace & { step: "rule" };
    expect(rule.matched).toBe(false);
    expect(rule.conditions).toEqual([
      { kind: "attribute", attribute: "age", op: "gte", values: [18], read: "21", holds: true },
      {
        kind: "attribute",
        attribute: "email",
        op: "ends_with",
        values: ["@example.com"],
        read: "b@example.com",
        holds: true,
      },
      expect.objectContaining({
        kind: "segment",
        segment: "staff",
        negate: true,
        member: false,
        via: "no match",
        holds: true,
      }),
      { kind: "segment", segment: "beta", negate: false, member: false, via: "excluded", holds: false },
    ]);
  });

  it("a missing attribute has no `read` and fails", () => {
    const t = explainFlag(d, "f", { targetingKey: "ann" }, NOW);
    const rule = t.steps[1] as StepTrace & { step: "rule" };
    expect(rule.conditions[0]).toEqual({
      kind: "attribute",
      attribute: "age",
      op: "gte",
      values: [18],
      holds: false,
    });
    expect(rule.conditions[2]).toMatchObject({ member: true, via: "included", holds: false });
  });
});

describe("splits", () => {
  it("the bucket against cumulative ranges, by DESIGN.md's formula", () => {
    const d = doc({ fallthrough: { split: { on: 10, off: 90 }, salt: "exp" } });
    const t = explainFlag(d, "f", { targetingKey: "user-7" }, NOW);
    const step = t.steps.at(-1) as StepTrace & { step: "fallthrough" };
    const split = step.serve.split!;
    const bucket = bucketOf(murmur3Utf8("expuser-7"), 100);
    expect(split).toMatchObject({
      by: "key",
      salt: "exp",
      bucketKey: "user-7",
      hash: murmur3Utf8("expuser-7"),
      totalWeight: 100,
      bucket,
      weights: "base",
      ranges: [
        { variant: "on", weight: 10, from: 0, to: 10 },
        { variant: "off", weight: 90, from: 10, to: 100 },
      ],
      variant: bucket < 10 ? "on" : "off",
    });
    expect(t.result).toMatchObject({ reason: "SPLIT", variant: split.variant });
  });

  it.each([
    ["before the first step: the base", Date.UTC(2026, 0, 1), "base", [false, false]],
    ["at the first step", Date.UTC(2026, 1, 1), { step: 0, at: "2026-02-01T00:00:00Z" }, [true, false]],
    ["after both", Date.UTC(2026, 5, 1), { step: 1, at: "2026-03-01T00:00:00Z" }, [false, true]],
  ])("a progressive rollout %s", (_, now, weights, inForce) => {
    // Written out of order: steps go by time.
    const d = doc({
      fallthrough: {
        split: { on: 0, off: 1 },
        steps: [
          { at: "2026-03-01T00:00:00Z", split: { on: 1, off: 0 } },
          { at: "2026-02-01T00:00:00Z", split: { on: 1, off: 1 } },
        ],
      },
    });
    const t = explainFlag(d, "f", { targetingKey: "u" }, now);
    const split = (t.steps.at(-1) as StepTrace & { step: "fallthrough" }).serve.split!;
    expect(split.weights).toEqual(weights);
    expect(split.steps?.map((s) => s.inForce)).toEqual(inForce);
  });

  it("without a targeting key: the ranges, no bucket, TARGETING_KEY_MISSING", () => {
    const t = explainFlag(doc({ fallthrough: { split: { on: 1, off: 1 } } }), "f", {}, NOW);
    const split = (t.steps.at(-1) as StepTrace & { step: "fallthrough" }).serve.split!;
    expect(split.bucket).toBeUndefined();
    expect(split.ranges).toHaveLength(2);
    expect(t.result).toMatchObject({ reason: "ERROR", errorCode: "TARGETING_KEY_MISSING" });
  });
});

describe("schedule, prerequisites and geo details", () => {
  it("a weekly window in Berlin: local time and which window is open", () => {
    const d = doc({
      schedule: {
        timezone: "Europe/Berlin",
        windows: [
          { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:30" },
          { days: ["sat"], start: "10:00", end: "14:00" },
        ],
      },
      fallthrough: "on",
    });
    const open = explainFlag(d, "f", {}, NOW).steps[1];
    expect(open).toMatchObject({ step: "schedule", active: true, localTime: "thu 13:00", decides: false });
    expect((open as StepTrace & { step: "schedule" }).windows?.map((w) => w.open)).toEqual([true, false]);
    const closed = explainFlag(d, "f", {}, Date.UTC(2026, 0, 15, 20, 0)).steps[1];
    expect(closed).toMatchObject({ active: false, localTime: "thu 21:00", decides: true });
  });

  it("a failed prerequisite carries the prerequisite's own trace", () => {
    const d = doc(
      { prerequisites: [{ flag: "base", variants: ["on"] }], fallthrough: "on" },
      { flags: { base: { geo: { allow: { continents: ["EU"] } }, fallthrough: "on" } } },
    );
    const t = explainFlag(d, "f", { geo: { country: "US", continent: "NA" } }, NOW);
    expect(t.result).toMatchObject({ value: false, ruleId: "prerequisite:base" });
    const p = t.steps[1] as StepTrace & { step: "prerequisite" };
    expect(p).toMatchObject({ flag: "base", got: "off", met: false, decides: true });
    expect(p.trace.steps[1]).toMatchObject({ step: "geo", hasAllow: true, decides: true, serve: "off" });
  });

  it.each<[EvaluationContext["geo"], string | undefined, string | undefined, boolean]>([
    [{ country: "US", regionCode: "NY" }, "region US-NY", undefined, true],
    [{ country: "DE", continent: "EU" }, undefined, "continent EU", false],
    [{ country: "FR" }, undefined, undefined, true],
    [undefined, undefined, undefined, true],
  ])("geo %j: blocked by %s, allowed by %s", (geo, blocked, allowed, decides) => {
    const d = doc({
      geo: { block: { regions: ["US-NY"] }, allow: { continents: ["EU", "NA"] }, serve: "off" },
      fallthrough: "on",
    });
    const step = explainFlag(d, "f", { geo }, NOW).steps[1];
    expect(step).toEqual({
      step: "geo",
      geo: geo ?? null,
      ...(blocked ? { blocked } : {}),
      ...(allowed ? { allowed } : {}),
      hasBlock: true,
      hasAllow: true,
      decides,
      ...(decides ? { serve: "off" } : {}),
    });
  });
});
