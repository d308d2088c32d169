import { describe, expect, it } from "vitest";
import { assign, cumulativeWeights } from "../../src/eval/bucket";
import { compile, evaluate, evaluateAll, evaluateValues } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import type { FlagDefinition, FlagsDocument, SegmentDefinition } from "../../src/flags/types";
import { bool, type Expected, error, evalFlag, NOW, pinned } from "./helpers";

const HOUR = 3_600_000;
const DE = { country: "DE", continent: "EU" };

/** A flag exercising every step, each of which would decide for the context `full` below. */
const everything: FlagDefinition = {
  schedule: { from: "2026-01-01T00:00:00Z" },
  prerequisites: [{ flag: "base", variants: ["on"] }],
  geo: { block: { countries: ["KP"] } },
  targets: { on: ["vip"] },
  rules: [{ id: "pro", when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "off" }],
  fallthrough: "on",
};
const base: FlagDefinition = {
  rules: [{ when: [{ attribute: "base", op: "exists" }], serve: "on" }],
  fallthrough: "off",
};
const full: EvaluationContext = { targetingKey: "vip", geo: { country: "KP" }, attributes: { plan: "pro" } };

describe("evaluation order: the first step that decides, decides", () => {
  type Row = [string, FlagDefinition, EvaluationContext, number, Expected];
  const rows: Row[] = [
    [
      "2: kill switch beats everything",
      { ...everything, enabled: false },
      full,
      NOW,
      bool(false, "DISABLED"),
    ],
    [
      "3: schedule beats prerequisites, geo, targets, rules",
      everything,
      full,
      Date.UTC(2025, 11, 31),
      bool(false, "DISABLED", "schedule"),
    ],
    [
      "4: prerequisite beats geo, targets, rules",
      everything,
      full,
      NOW,
      bool(false, "TARGETING_MATCH", "prerequisite:base"),
    ],
    [
      "4b: geo beats targets and rules",
      everything,
      { ...full, attributes: { plan: "pro", base: 1 } },
      NOW,
      bool(false, "TARGETING_MATCH", "geo"),
    ],
    [
      "5: targets beat rules",
      everything,
      { targetingKey: "vip", geo: DE, attributes: { plan: "pro", base: 1 } },
      NOW,
      bool(true, "TARGETING_MATCH", "target"),
    ],
    [
      "6: rules beat fallthrough",
      everything,
      { targetingKey: "x", geo: DE, attributes: { plan: "pro", base: 1 } },
      NOW,
      bool(false, "TARGETING_MATCH", "pro"),
    ],
    [
      "7: fallthrough",
      everything,
      { targetingKey: "x", geo: DE, attributes: { plan: "free", base: 1 } },
      NOW,
      bool(true, "DEFAULT", "fallthrough"),
    ],
  ];
  it.each(rows)("%s", (_name, flag, ctx, now, expected) => {
    expect(pinned(evalFlag(flag, ctx, now, { base }))).toEqual(expected);
  });
});

describe("1: missing flag and type checks", () => {
  const compiled = compile({
    flags: { b: { fallthrough: "on" }, s: { variants: { x: "X" }, fallthrough: "x" } },
  });
  it("unknown key: FLAG_NOT_FOUND, no value, no type", () => {
    const r = evaluate(compiled, "nope", {}, NOW);
    expect(pinned(r)).toEqual(error("FLAG_NOT_FOUND"));
    expect(r.key).toBe("nope");
    expect(r.type).toBeUndefined();
  });
  it.each([
    ["b", "string", true],
    ["b", "boolean", false],
    ["s", "boolean", true],
    ["s", "string", false],
    ["s", "number", true],
  ] as const)("flag %s expected as %s: mismatch %s", (key, type, mismatch) => {
    const r = evaluate(compiled, key, {}, NOW, type);
    if (mismatch) {
      expect(pinned(r)).toEqual(error("TYPE_MISMATCH"));
      expect(r.type).toBe(compiled.typeOf(key));
    } else {
      expect(r.reason).toBe("STATIC");
    }
  });
  it("types are inferred from variants or declared", () => {
    const c = compile({
      flags: {
        b: { fallthrough: "on" },
        n: { variants: { a: 1, b: 2 }, fallthrough: "a" },
        j: { variants: { a: { x: 1 }, b: [1] }, fallthrough: "a" },
        s: { type: "string", variants: { a: "A" }, fallthrough: "a" },
      },
    });
    expect(["b", "n", "j", "s"].map((k) => c.typeOf(k))).toEqual(["boolean", "number", "json", "string"]);
    expect(c.typeOf("zz")).toBeUndefined();
  });
});

describe("2-3: kill switch and schedule", () => {
  const from = "2026-01-10T00:00:00Z";
  const until = "2026-01-20T00:00:00Z";
  type Row = [string, FlagDefinition, number, Expected];
  const rows: Row[] = [
    ["disabled serves the off variant", { enabled: false, fallthrough: "on" }, NOW, bool(false, "DISABLED")],
    [
      "disabled serves a custom off variant",
      { enabled: false, variants: { a: "A", b: "B" }, offVariant: "b", fallthrough: "a" },
      NOW,
      { value: "B", variant: "b", reason: "DISABLED", ruleId: undefined, errorCode: undefined },
    ],
    [
      "before from",
      { schedule: { from }, fallthrough: "on" },
      Date.parse(from) - 1,
      bool(false, "DISABLED", "schedule"),
    ],
    [
      "at from",
      { schedule: { from }, fallthrough: "on" },
      Date.parse(from),
      bool(true, "DEFAULT", "fallthrough"),
    ],
    [
      "before until",
      { schedule: { until }, fallthrough: "on" },
      Date.parse(until) - 1,
      bool(true, "DEFAULT", "fallthrough"),
    ],
    [
      "at until",
      { schedule: { until }, fallthrough: "on" },
      Date.parse(until),
      bool(false, "DISABLED", "schedule"),
    ],
    [
      "after until",
      { schedule: { from, until }, fallthrough: "on" },
      Date.parse(until) + HOUR,
      bool(false, "DISABLED", "schedule"),
    ],
  ];
  it.each(rows)("%s", (_name, flag, now, expected) => {
    expect(pinned(evalFlag(flag, { targetingKey: "u" }, now))).toEqual(expected);
  });
});

describe("3: weekly windows in Europe/Berlin across the DST change", () => {
  const flag = (windows: NonNullable<FlagDefinition["schedule"]>["windows"], timezone = "Europe/Berlin") => ({
    schedule: { timezone, windows },
    fallthrough: "on",
  });
  const workHours = flag([{ days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" }]);
  // 2026-03-29 is the Sunday Berlin moves from UTC+1 to UTC+2 (02:00 -> 03:00 local).
  const earlySunday = flag([{ days: ["sun"], start: "02:30", end: "03:30" }]);
  const lateNight = flag([{ days: ["sat"], start: "22:00", end: "24:00" }]);
  const overnight = flag([{ days: ["fri"], start: "22:00", end: "02:00" }]);
  type Row = [string, FlagDefinition, string, boolean];
  const rows: Row[] = [
    ["winter Monday 08:30Z is 09:30 local", workHours, "2026-03-23T08:30:00Z", true],
    ["winter Monday 07:59Z is 08:59 local", workHours, "2026-03-23T07:59:00Z", false],
    ["winter Monday 15:59Z is 16:59 local", workHours, "2026-03-23T15:59:00Z", true],
    ["winter Monday 16:00Z is 17:00 local (end exclusive)", workHours, "2026-03-23T16:00:00Z", false],
    ["summer Monday 07:30Z is 09:30 local", workHours, "2026-03-30T07:30:00Z", true],
    ["summer Monday 15:30Z is 17:30 local", workHours, "2026-03-30T15:30:00Z", false],
    ["Saturday is not a workday", workHours, "2026-03-28T10:00:00Z", false],
    ["DST day 00:59Z is 01:59 local", earlySunday, "2026-03-29T00:59:00Z", false],
    ["DST day 01:00Z is 03:00 local", earlySunday, "2026-03-29T01:00:00Z", true],
    ["DST day 01:29Z is 03:29 local", earlySunday, "2026-03-29T01:29:00Z", true],
    ["DST day 01:30Z is 03:30 local", earlySunday, "2026-03-29T01:30:00Z", false],
    ["window ending 24:00 includes 23:59 local", lateNight, "2026-03-28T22:59:00Z", true],
    ["window ending 24:00 excludes Sunday 00:00 local", lateNight, "2026-03-28T23:00:00Z", false],
    ["overnight window, Friday 23:00 local", overnight, "2026-03-27T22:00:00Z", true],
    ["overnight window, Saturday 01:59 local", overnight, "2026-03-28T00:59:00Z", true],
    ["overnight window, Saturday 02:00 local", overnight, "2026-03-28T01:00:00Z", false],
    ["overnight window, Thursday 23:00 local", overnight, "2026-03-26T22:00:00Z", false],
    [
      "UTC default: Thursday 12:00Z",
      flag([{ days: ["thu"], start: "12:00", end: "13:00" }], "UTC"),
      "2026-01-15T12:00:00Z",
      true,
    ],
    [
      "UTC default: Thursday 13:00Z",
      flag([{ days: ["thu"], start: "12:00", end: "13:00" }], "UTC"),
      "2026-01-15T13:00:00Z",
      false,
    ],
  ];
  it.each(rows)("%s -> active %s", (_name, f, at, active) => {
    const expected = active ? bool(true, "DEFAULT", "fallthrough") : bool(false, "DISABLED", "schedule");
    expect(pinned(evalFlag(f, { targetingKey: "u" }, Date.parse(at)))).toEqual(expected);
  });

  it("the same compiled snapshot answers correctly as `now` changes (no stale clock memo)", () => {
    const c = compile({ flags: { f: workHours } });
    const times = [
      "2026-03-23T08:30:00Z",
      "2026-03-23T07:59:00Z",
      "2026-03-30T07:30:00Z",
      "2026-03-30T15:30:00Z",
    ];
    expect(times.map((t) => evaluate(c, "f", {}, Date.parse(t)).value)).toEqual([true, false, true, false]);
  });
});

describe("4: prerequisites", () => {
  const flags: Record<string, FlagDefinition> = {
    c: { rules: [{ when: [{ attribute: "c", op: "exists" }], serve: "on" }], fallthrough: "off" },
    b: { prerequisites: [{ flag: "c", variants: ["on"] }], fallthrough: "on" },
    color: {
      variants: { red: "r", green: "g", blue: "b" },
      fallthrough: { split: { red: 1, green: 1, blue: 1 } },
    },
    killed: { enabled: false, fallthrough: "on" },
  };
  type Row = [string, FlagDefinition, EvaluationContext, Expected];
  const rows: Row[] = [
    [
      "met",
      { prerequisites: [{ flag: "c", variants: ["on"] }], fallthrough: "on" },
      { attributes: { c: 1 } },
      bool(true, "DEFAULT", "fallthrough"),
    ],
    [
      "not met",
      { prerequisites: [{ flag: "c", variants: ["on"] }], fallthrough: "on" },
      {},
      bool(false, "TARGETING_MATCH", "prerequisite:c"),
    ],
    [
      "chain met",
      { prerequisites: [{ flag: "b", variants: ["on"] }], fallthrough: "on" },
      { attributes: { c: 1 } },
      bool(true, "DEFAULT", "fallthrough"),
    ],
    [
      "chain broken two levels down",
      { prerequisites: [{ flag: "b", variants: ["on"] }], fallthrough: "on" },
      {},
      bool(false, "TARGETING_MATCH", "prerequisite:b"),
    ],
    [
      "a disabled prerequisite serves off",
      { prerequisites: [{ flag: "killed", variants: ["on"] }], fallthrough: "on" },
      {},
      bool(false, "TARGETING_MATCH", "prerequisite:killed"),
    ],
    [
      "the first failing one is reported",
      {
        prerequisites: [
          { flag: "c", variants: ["off"] },
          { flag: "b", variants: ["on"] },
        ],
        fallthrough: "on",
      },
      {},
      bool(false, "TARGETING_MATCH", "prerequisite:b"),
    ],
    [
      "an erroring prerequisite (split without key) is not met",
      { prerequisites: [{ flag: "color", variants: ["red", "green", "blue"] }], fallthrough: "on" },
      {},
      bool(false, "TARGETING_MATCH", "prerequisite:color"),
    ],
    [
      "any listed variant will do",
      { prerequisites: [{ flag: "color", variants: ["red", "green", "blue"] }], fallthrough: "on" },
      { targetingKey: "u" },
      bool(true, "DEFAULT", "fallthrough"),
    ],
  ];
  it.each(rows)("%s", (_name, flag, ctx, expected) => {
    expect(pinned(evalFlag(flag, ctx, NOW, flags))).toEqual(expected);
  });
});

describe("4b: geo allow/block", () => {
  type Row = [string, FlagDefinition["geo"], EvaluationContext["geo"], Expected];
  const blocked = bool(false, "TARGETING_MATCH", "geo");
  const passes = bool(true, "DEFAULT", "fallthrough");
  const rows: Row[] = [
    ["allow country: inside", { allow: { countries: ["DE", "FR"] } }, { country: "DE" }, passes],
    ["allow country: outside", { allow: { countries: ["DE", "FR"] } }, { country: "US" }, blocked],
    ["allow: unknown geo is outside", { allow: { countries: ["DE"] } }, undefined, blocked],
    ["allow: empty geo is outside", { allow: { countries: ["DE"] } }, {}, blocked],
    ["allow continent", { allow: { continents: ["EU"] } }, { country: "AT", continent: "EU" }, passes],
    [
      "allow continent: outside",
      { allow: { continents: ["EU"] } },
      { country: "US", continent: "NA" },
      blocked,
    ],
    ["allow region", { allow: { regions: ["US-CA"] } }, { country: "US", regionCode: "CA" }, passes],
    [
      "allow region: other region",
      { allow: { regions: ["US-CA"] } },
      { country: "US", regionCode: "NY" },
      blocked,
    ],
    [
      "allow region: same code, other country",
      { allow: { regions: ["US-CA"] } },
      { country: "ES", regionCode: "CA" },
      blocked,
    ],
    ["allow region: no region code", { allow: { regions: ["US-CA"] } }, { country: "US" }, blocked],
    ["block country", { block: { countries: ["KP"] } }, { country: "KP" }, blocked],
    ["block country: other", { block: { countries: ["KP"] } }, { country: "DE" }, passes],
    ["block: unknown geo is in no block list", { block: { countries: ["KP"] } }, undefined, passes],
    ["block continent", { block: { continents: ["AN"] } }, { continent: "AN" }, blocked],
    ["block region", { block: { regions: ["CA-QC"] } }, { country: "CA", regionCode: "QC" }, blocked],
    [
      "block region: other region",
      { block: { regions: ["CA-QC"] } },
      { country: "CA", regionCode: "ON" },
      passes,
    ],
    [
      "allow + block: allowed continent, blocked country",
      { allow: { continents: ["EU"] }, block: { countries: ["BY"] } },
      { country: "BY", continent: "EU" },
      blocked,
    ],
    [
      "allow + block: allowed and not blocked",
      { allow: { continents: ["EU"] }, block: { countries: ["BY"] } },
      { country: "DE", continent: "EU" },
      passes,
    ],
    [
      "serve names the variant",
      { block: { countries: ["KP"] }, serve: "on" },
      { country: "KP" },
      bool(true, "TARGETING_MATCH", "geo"),
    ],
  ];
  it.each(rows)("%s", (_name, geo, ctxGeo, expected) => {
    const flag: FlagDefinition = { geo, fallthrough: "on" };
    expect(pinned(evalFlag(flag, { targetingKey: "u", geo: ctxGeo }))).toEqual(expected);
  });
});

describe("5-6: targets, rules and segments", () => {
  const segments: Record<string, SegmentDefinition> = {
    beta: {
      included: ["in-1", "both"],
      excluded: ["out-1", "both"],
      rules: [{ when: [{ attribute: "identity.email", op: "ends_with", values: ["@corp.example"] }] }],
    },
    staff: {
      rules: [
        {
          when: [
            { attribute: "identity.role", op: "equals", values: ["staff"] },
            { attribute: "geo.country", op: "in", values: ["DE"] },
          ],
        },
      ],
    },
  };
  const flag: FlagDefinition = {
    variants: { a: "A", b: "B", c: "C", d: "D" },
    targets: { a: ["t-a", "t-both"], b: ["t-b", "t-both"] },
    rules: [
      { id: "beta", when: [{ segment: "beta" }], serve: "b" },
      { when: [{ segment: "staff" }, { attribute: "plan", op: "equals", values: ["pro"] }], serve: "c" },
      {
        id: "not-staff-pro",
        when: [
          { segment: "staff", negate: true },
          { attribute: "plan", op: "equals", values: ["pro"] },
        ],
        serve: "d",
      },
      { id: "always", when: [], serve: "a" },
    ],
    fallthrough: "d",
  };
  const r = (variant: string, ruleId: string): Expected => ({
    value: variant.toUpperCase(),
    variant,
    reason: "TARGETING_MATCH",
    ruleId,
    errorCode: undefined,
  });
  type Row = [string, EvaluationContext, Expected];
  const rows: Row[] = [
    ["target a", { targetingKey: "t-a" }, r("a", "target")],
    ["target b", { targetingKey: "t-b" }, r("b", "target")],
    ["key listed twice: the first variant listed wins", { targetingKey: "t-both" }, r("a", "target")],
    ["segment included key", { targetingKey: "in-1" }, r("b", "beta")],
    ["segment excluded key", { targetingKey: "out-1" }, r("a", "always")],
    ["excluded wins over included", { targetingKey: "both" }, r("a", "always")],
    [
      "excluded wins over segment rules",
      { targetingKey: "out-1", identity: { email: "x@corp.example" } },
      r("a", "always"),
    ],
    ["segment rule", { targetingKey: "x", identity: { email: "x@corp.example" } }, r("b", "beta")],
    [
      "segment rule needs every condition",
      { identity: { role: "staff" }, geo: { country: "FR" }, attributes: { plan: "pro" } },
      r("d", "not-staff-pro"),
    ],
    [
      "segment + attribute, default rule id",
      { identity: { role: "staff" }, geo: { country: "DE" }, attributes: { plan: "pro" } },
      r("c", "rule-1"),
    ],
    ["an empty rule always matches", { targetingKey: "nobody" }, r("a", "always")],
    [
      "segment membership is by verified attributes only",
      { attributes: { "identity.email": "x@corp.example" } },
      r("a", "always"),
    ],
  ];
  it.each(rows)("%s", (_name, ctx, expected) => {
    expect(pinned(evalFlag(flag, ctx, NOW, {}, segments))).toEqual(expected);
  });
});

describe("6-7: splits, progressive rollouts, STATIC vs DEFAULT", () => {
  const salted = (key: string, salt: string, weights: Record<string, number>) =>
    Object.keys(weights)[assign(salt, key, cumulativeWeights(Object.values(weights)))]!;

  it("a fallthrough split serves the bucketed variant with reason SPLIT (vectors: new-checkout)", () => {
    const doc: FlagsDocument = { flags: { "new-checkout": { fallthrough: { split: { on: 50, off: 50 } } } } };
    const c = compile(doc);
    // From test/vectors/bucketing.json: user-1 -> on at 50/50, user-42 -> off.
    expect(pinned(evaluate(c, "new-checkout", { targetingKey: "user-1" }, NOW))).toEqual(
      bool(true, "SPLIT", "fallthrough"),
    );
    expect(pinned(evaluate(c, "new-checkout", { targetingKey: "user-42" }, NOW))).toEqual(
      bool(false, "SPLIT", "fallthrough"),
    );
  });

  it("a rule split uses the rule id, the salt and the by attribute", () => {
    const weights = { a: 1, b: 1, c: 1, d: 1 };
    const flag: FlagDefinition = {
      variants: { a: 1, b: 2, c: 3, d: 4 },
      rules: [{ id: "exp", when: [], serve: { split: weights, by: "identity.org", salt: "s1" } }],
      fallthrough: "a",
    };
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const org = `org-${i}`;
      const r = evalFlag(flag, { targetingKey: "same", identity: { org } });
      expect(r.reason).toBe("SPLIT");
      expect(r.ruleId).toBe("exp");
      expect(r.variant).toBe(salted(org, "s1", weights));
      seen.add(r.variant!);
    }
    expect(seen.size).toBe(4);
  });

  it.each([
    ["no targeting key", {}, error("TARGETING_KEY_MISSING", "fallthrough")],
    ["empty targeting key", { targetingKey: "" }, error("TARGETING_KEY_MISSING", "fallthrough")],
  ])("split by key with %s: TARGETING_KEY_MISSING", (_n, ctx, expected) => {
    expect(pinned(evalFlag({ fallthrough: { split: { on: 1, off: 1 } } }, ctx))).toEqual(expected);
  });

  it.each([
    ["missing", {}],
    ["an object", { attributes: { team: { a: 1 } } }],
    ["null", { attributes: { team: null } }],
  ])("split by another attribute that is %s: INVALID_CONTEXT", (_n, ctx) => {
    const r = evalFlag(
      { rules: [{ id: "r", when: [], serve: { split: { on: 1, off: 1 }, by: "team" } }], fallthrough: "off" },
      ctx,
    );
    expect(pinned(r)).toEqual(error("INVALID_CONTEXT", "r"));
  });

  it("numbers and booleans are stringified to bucket", () => {
    const flag: FlagDefinition = { fallthrough: { split: { on: 1, off: 1 }, by: "n" } };
    expect(evalFlag(flag, { attributes: { n: 42 } }).variant).toBe(
      evalFlag(flag, { attributes: { n: "42" } }).variant,
    );
    expect(evalFlag(flag, { attributes: { n: true } }).variant).toBe(salted("true", "f", { on: 1, off: 1 }));
  });

  it("non-ASCII bucket keys hash as UTF-8 (vectors: über-user)", () => {
    const c = compile({ flags: { "new-checkout": { fallthrough: { split: { on: 25, off: 75 } } } } });
    expect(evaluate(c, "new-checkout", { targetingKey: "über-user" }, NOW).variant).toBe("off");
    expect(evaluate(c, "new-checkout", { targetingKey: "über-user" }, NOW).variant).toBe(
      salted("über-user", "new-checkout", { on: 25, off: 75 }),
    );
  });

  describe("progressive steps: the last step reached wins, else the base split", () => {
    const flag: FlagDefinition = {
      fallthrough: {
        split: { on: 0, off: 100 },
        // Deliberately out of order: compile sorts them.
        steps: [
          { at: "2026-02-01T00:00:00Z", split: { on: 0, off: 1 } },
          { at: "2026-01-01T00:00:00Z", split: { on: 1, off: 0 } },
        ],
      },
    };
    it.each([
      ["before every step", "2025-12-31T23:59:59Z", false],
      ["at the first step", "2026-01-01T00:00:00Z", true],
      ["between steps", "2026-01-20T00:00:00Z", true],
      ["at the second step", "2026-02-01T00:00:00Z", false],
    ])("%s", (_n, at, on) => {
      expect(pinned(evalFlag(flag, { targetingKey: "u" }, Date.parse(at)))).toEqual(
        bool(on, "SPLIT", "fallthrough"),
      );
    });
    it("a growing rollout never turns a user off", () => {
      const rollout: FlagDefinition = {
        fallthrough: {
          split: { on: 5, off: 95 },
          steps: [
            { at: "2026-01-02T00:00:00Z", split: { on: 25, off: 75 } },
            { at: "2026-01-03T00:00:00Z", split: { on: 50, off: 50 } },
            { at: "2026-01-04T00:00:00Z", split: { on: 100, off: 0 } },
          ],
        },
      };
      const c = compile({ flags: { f: rollout } });
      const days = [1, 2, 3, 4].map((d) => Date.UTC(2026, 0, d, 12));
      const onCounts = days.map(() => 0);
      for (let i = 0; i < 2000; i++) {
        const seq = days.map((t) => evaluate(c, "f", { targetingKey: `user-${i}` }, t).value as boolean);
        seq.forEach((on, d) => {
          if (on) onCounts[d]!++;
          if (d > 0 && seq[d - 1]) expect(on).toBe(true);
        });
      }
      expect(onCounts[0]).toBeGreaterThan(50);
      expect(onCounts[0]).toBeLessThan(200);
      expect(onCounts[3]).toBe(2000);
    });
  });

  it.each([
    ["nothing can vary", { fallthrough: "on" }, "STATIC"],
    ["empty rules and targets still static", { rules: [], targets: {}, fallthrough: "on" }, "STATIC"],
    [
      "a rule",
      { rules: [{ when: [{ attribute: "x", op: "exists" }], serve: "off" }], fallthrough: "on" },
      "DEFAULT",
    ],
    ["targets", { targets: { off: ["x"] }, fallthrough: "on" }, "DEFAULT"],
    ["a schedule", { schedule: { from: "2020-01-01T00:00:00Z" }, fallthrough: "on" }, "DEFAULT"],
    ["geo", { geo: { block: { countries: ["KP"] } }, fallthrough: "on" }, "DEFAULT"],
    ["prerequisites", { prerequisites: [{ flag: "p", variants: ["on"] }], fallthrough: "on" }, "DEFAULT"],
  ] as [string, FlagDefinition, string][])("fallthrough variant with %s: %s", (_n, flag, reason) => {
    const r = evalFlag(flag, { targetingKey: "u" }, NOW, { p: { fallthrough: "on" } });
    expect(pinned(r)).toEqual(bool(true, reason as Expected["reason"], "fallthrough"));
  });
});

describe("evaluateAll / evaluateValues", () => {
  const doc: FlagsDocument = {
    flags: {
      zeta: { clientVisible: true, fallthrough: "on" },
      alpha: {
        clientVisible: true,
        prerequisites: [{ flag: "secret", variants: ["on"] }],
        fallthrough: "on",
      },
      secret: {
        rules: [{ when: [{ attribute: "identity.admin", op: "equals", values: [true] }], serve: "on" }],
        fallthrough: "off",
      },
      mid: { clientVisible: true, variants: { x: { deep: [1] } }, fallthrough: "x" },
      split: { clientVisible: true, fallthrough: { split: { on: 1, off: 1 } } },
    },
  };
  const c = compile(doc);

  it("reports every flag in key order", () => {
    const all = evaluateAll(c, { targetingKey: "u", identity: { admin: true } }, NOW);
    expect(all.map((r) => r.key)).toEqual(["alpha", "mid", "secret", "split", "zeta"]);
    expect(c.keys).toEqual(["alpha", "mid", "secret", "split", "zeta"]);
    expect(all[0]!.value).toBe(true);
  });

  it("clientVisibleOnly leaves server-only flags out, but still uses them as prerequisites", () => {
    const visible = evaluateAll(c, { targetingKey: "u", identity: { admin: true } }, NOW, {
      clientVisibleOnly: true,
    });
    expect(visible.map((r) => r.key)).toEqual(["alpha", "mid", "split", "zeta"]);
    expect(visible[0]!.value).toBe(true);
    const notAdmin = evaluateAll(c, { targetingKey: "u" }, NOW, { clientVisibleOnly: true });
    expect(pinned(notAdmin[0]!)).toEqual(bool(false, "TARGETING_MATCH", "prerequisite:secret"));
    expect(c.isClientVisible("secret")).toBe(false);
    expect(c.isClientVisible("zeta")).toBe(true);
    expect(c.isClientVisible("nope")).toBe(false);
  });

  it("agrees with evaluate() flag by flag", () => {
    for (const ctx of [{ targetingKey: "a" }, { targetingKey: "b", identity: { admin: true } }, {}]) {
      const all = evaluateAll(c, ctx, NOW);
      expect(all).toEqual(c.keys.map((k) => evaluate(c, k, ctx, NOW)));
    }
  });

  it("evaluateValues: key -> value, errors left out", () => {
    expect(evaluateValues(c, { targetingKey: "user-1" }, NOW, { clientVisibleOnly: true })).toEqual({
      alpha: false,
      mid: { deep: [1] },
      split: evaluate(c, "split", { targetingKey: "user-1" }, NOW).value,
      zeta: true,
    });
    const noKey = evaluateValues(c, {}, NOW);
    expect(Object.keys(noKey)).toEqual(["alpha", "mid", "secret", "zeta"]);
  });

  it("results and variant values are frozen, so no caller can change another's answer", () => {
    const r = evaluate(c, "mid", {}, NOW);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.value)).toBe(true);
    expect(() => {
      (r.value as { deep: number[] }).deep.push(2);
    }).toThrow();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("compile does not keep or freeze the caller's document", () => {
    const variants = { x: { deep: [1] } };
    const c2 = compile({ flags: { m: { variants, fallthrough: "x" } } });
    expect(Object.isFrozen(variants.x)).toBe(false);
    variants.x.deep.push(2);
    expect(evaluate(c2, "m", {}, NOW).value).toEqual({ deep: [1] });
  });
});

describe("per-context memos (shared conditions, segments, attribute reads)", () => {
  const flags: Record<string, FlagDefinition> = {};
  for (const k of ["a", "b", "c"]) {
    flags[k] = {
      rules: [
        {
          id: "de-pro",
          when: [
            { attribute: "geo.country", op: "in", values: ["DE"] },
            { attribute: "plan", op: "equals", values: ["pro"] },
          ],
          serve: "on",
        },
        { id: "staff", when: [{ segment: "staff" }], serve: "on" },
      ],
      fallthrough: "off",
    };
  }
  const c = compile({
    flags,
    segments: {
      staff: {
        rules: [
          {
            when: [
              { attribute: "plan", op: "equals", values: ["pro"] },
              { attribute: "geo.country", op: "in", values: ["FR"] },
            ],
          },
        ],
      },
    },
  });
  it.each([
    [{ geo: { country: "DE" }, attributes: { plan: "pro" } }, true, "de-pro"],
    [{ geo: { country: "DE" }, attributes: { plan: "free" } }, false, "fallthrough"],
    [{ geo: { country: "FR" }, attributes: { plan: "pro" } }, true, "staff"],
    [{ geo: { country: "FR" }, attributes: { plan: "free" } }, false, "fallthrough"],
    [{ geo: { country: "DE" }, attributes: { plan: "pro" } }, true, "de-pro"],
  ] as [
    EvaluationContext,
    boolean,
    string,
  ][])("context %j: every flag gives %s by %s, one context after another", (ctx, on, ruleId) => {
    for (const r of evaluateAll(c, ctx, NOW)) {
      expect(r.value).toBe(on);
      expect(r.ruleId).toBe(ruleId);
    }
  });
});
