/**
 * What compile shares across flags, and that sharing changes no answer: interned target lists, the
 * value index of in / not_in tests (src/eval/compiled.ts, ValueIndex) and rule programs. Each answer is
 * checked against a naive reading of the document, not against the engine itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, evaluate, evaluateAll } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { NOW } from "./helpers";

/** A list as a parsed flags file holds it: its own array and its own strings. */
const parsedCopy = (keys: readonly string[]): string[] => JSON.parse(JSON.stringify(keys));

describe("interned target lists", () => {
  const staff = Array.from({ length: 2_000 }, (_, i) => `staff-${i}`);
  // Same length, same first, last and evenly spread keys as `staff`: only a full comparison tells.
  const nearly = staff.map((k, i) => (i === 1_001 ? "staff-x" : k));
  const doc: FlagsDocument = {
    flags: {
      a: { targets: { on: parsedCopy(staff) }, fallthrough: "off" },
      b: { targets: { on: parsedCopy(staff) }, fallthrough: "off" },
      c: { targets: { on: parsedCopy(nearly) }, fallthrough: "off" },
      d: { targets: { off: ["staff-1"], on: parsedCopy(staff) }, fallthrough: "on" },
      e: { targets: { on: parsedCopy(staff).reverse() }, fallthrough: "off" },
    },
  };
  const c = compile(doc);
  const [a, b, cc, d, e] = c.flags;

  it("verbatim copies, and reordered ones, share one list; a list differing in one key does not", () => {
    expect(b!.targets![0]!.keys).toBe(a!.targets![0]!.keys);
    expect(d!.targets![1]!.keys).toBe(a!.targets![0]!.keys);
    expect(e!.targets![0]!.keys).toBe(a!.targets![0]!.keys);
    expect(cc!.targets![0]!.keys).not.toBe(a!.targets![0]!.keys);
    expect(d!.targets![0]!.keys).not.toBe(a!.targets![0]!.keys);
    expect(a!.targets![0]!.keys.size).toBe(2_000);
  });

  it("each flag answers what its own list says", () => {
    for (const key of ["staff-0", "staff-1", "staff-1001", "staff-x", "staff-1999", "nobody"]) {
      const ctx = { targetingKey: key };
      const inStaff = staff.includes(key);
      const got = Object.fromEntries(evaluateAll(c, ctx, NOW).map((r) => [r.key, r.value]));
      expect(got).toEqual({
        a: inStaff,
        b: inStaff,
        c: nearly.includes(key),
        d: key !== "staff-1",
        e: inStaff,
      });
      for (const k of c.keys) expect(evaluate(c, k, ctx, NOW).value).toBe(got[k]);
    }
  });
});

const VALUES = ["v0", "v1", "v2", "v3", "v4", 1, "1", true];

/** The naive reading of an in / not_in test. */
function naive(op: "in" | "not_in", values: readonly unknown[], v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (op === "in") return values.includes(v);
  const t = typeof v;
  return (t === "string" || t === "number" || t === "boolean") && !values.includes(v);
}

describe("the value index decides in / not_in as the lists say", () => {
  it("for any mix of lists, shared values, copies and target lists, in evaluateAll and evaluate", () => {
    const test = fc.record({
      op: fc.constantFrom("in" as const, "not_in" as const),
      values: fc.subarray(VALUES, { minLength: 1 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(test, fc.subarray(["k0", "k1", "k2", "k3"])), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom<unknown>(...VALUES, "v9", 2, false, null, ["v0"]), { minLength: 1 }),
        fc.constantFrom(undefined, "k0", "k2", "k9"),
        (flags, plans, key) => {
          const doc: FlagsDocument = {
            flags: Object.fromEntries(
              flags.map(([t, keys], i): [string, FlagDefinition] => [
                `f${i}`,
                {
                  targets: { off: keys },
                  rules: [{ when: [{ attribute: "plan", op: t.op, values: t.values }], serve: "on" }],
                  fallthrough: "off",
                },
              ]),
            ),
          };
          const c = compile(doc);
          for (const plan of plans) {
            const ctx: EvaluationContext = { targetingKey: key, attributes: { plan } };
            const all = new Map(evaluateAll(c, ctx, NOW).map((r) => [r.key, r.value]));
            flags.forEach(([t, keys], i) => {
              const targeted = key !== undefined && keys.includes(key);
              const want = !targeted && naive(t.op, t.values, plan ?? undefined);
              expect(all.get(`f${i}`)).toBe(want);
              expect(evaluate(c, `f${i}`, ctx, NOW).value).toBe(want);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("when one value is in the lists of many tests", () => {
    // 200 flags whose country lists all hold "US", half also "DE": one value in 200 lists.
    const flags: Record<string, FlagDefinition> = {};
    for (let i = 0; i < 200; i++) {
      const values = i % 2 === 0 ? ["US", "DE", `X${i}`] : ["US", `X${i}`];
      flags[`f${String(i).padStart(3, "0")}`] = {
        rules: [
          { when: [{ attribute: "geo.country", op: i % 3 === 0 ? "not_in" : "in", values }], serve: "on" },
        ],
        fallthrough: "off",
      };
    }
    const c = compile({ flags });
    for (const country of ["US", "DE", "X7", "X8", "FR"]) {
      const ctx = { geo: { country } };
      const all = evaluateAll(c, ctx, NOW);
      c.keys.forEach((k, i) => {
        const values = i % 2 === 0 ? ["US", "DE", `X${i}`] : ["US", `X${i}`];
        const want = naive(i % 3 === 0 ? "not_in" : "in", values, country);
        expect(all[i]!.value).toBe(want);
        expect(evaluate(c, k, ctx, NOW).value).toBe(want);
      });
    }
  });
});

describe("rule programs", () => {
  it("flags with the same conditions share one, whatever they serve, and still answer their own", () => {
    const rules = (serve: string): NonNullable<FlagDefinition["rules"]> => [
      {
        when: [
          { attribute: "plan", op: "equals", values: ["pro"] },
          { segment: "s", negate: true },
        ],
        serve,
      },
      { when: [{ attribute: "geo.country", op: "in", values: ["DE"] }], serve },
    ];
    const c = compile({
      flags: {
        a: { rules: rules("on"), fallthrough: "off" },
        b: { rules: rules("off"), fallthrough: "on" },
        c: { rules: rules("on").slice(1), fallthrough: "off" },
      },
      segments: { s: { included: ["u1"] } },
    });
    const [a, b, cc] = c.flags;
    expect(b!.program).toBe(a!.program);
    expect(cc!.program).not.toBe(a!.program);
    const answers = (ctx: EvaluationContext) => evaluateAll(c, ctx, NOW).map((r) => r.value);
    expect(answers({ targetingKey: "u2", attributes: { plan: "pro" } })).toEqual([true, false, false]);
    expect(answers({ targetingKey: "u1", attributes: { plan: "pro" } })).toEqual([false, true, false]);
    expect(answers({ targetingKey: "u1", geo: { country: "DE" } })).toEqual([true, false, true]);
  });

  it("flags whose first rules differ share their common last rules as one tail, and answer their own rule", () => {
    const tail: NonNullable<FlagDefinition["rules"]> = [
      { id: "beta", when: [{ segment: "s" }], serve: "on" },
      { id: "blocked", when: [{ attribute: "geo.country", op: "in", values: ["RU"] }], serve: "off" },
    ];
    const own = (country: string): NonNullable<FlagDefinition["rules"]>[number] => ({
      id: "own",
      when: [{ attribute: "geo.country", op: "in", values: [country] }],
      serve: "on",
    });
    const c = compile({
      flags: {
        a: { rules: [own("DE"), ...tail], fallthrough: "off" },
        b: { rules: [own("FR"), ...tail], fallthrough: "off" },
        c: { rules: [own("GB"), own("JP"), ...tail], fallthrough: "on" },
        d: { rules: tail, fallthrough: "off" },
      },
      segments: { s: { included: ["u1"] } },
    });
    const [a, b, cc, d] = c.flags;
    // Each of a, b and c walks its own first rules, then the shared program d has on its own.
    expect(a!.program!.tail).not.toBeNull();
    expect(a!.program!.tail).toBe(d!.program);
    expect(b!.program!.tail).toBe(d!.program);
    expect(cc!.program!.tail).toBe(d!.program);
    expect([a, b, cc].map((f) => f!.program!.tailRule)).toEqual([1, 1, 2]);
    const answers = (ctx: EvaluationContext) =>
      evaluateAll(c, ctx, NOW).map((r) => `${r.value}:${r.ruleId ?? r.reason}`);
    expect(answers({ targetingKey: "u2", geo: { country: "DE" } })).toEqual([
      "true:own",
      "false:fallthrough",
      "true:fallthrough",
      "false:fallthrough",
    ]);
    expect(answers({ targetingKey: "u1", geo: { country: "FR" } })).toEqual([
      "true:beta",
      "true:own",
      "true:beta",
      "true:beta",
    ]);
    expect(answers({ targetingKey: "u2", geo: { country: "RU" } })).toEqual([
      "false:blocked",
      "false:blocked",
      "false:blocked",
      "false:blocked",
    ]);
  });

  it("for any flags made of their own rules and shared last rules, as a naive reading of the rules says", () => {
    type When =
      | { attribute: string; op: "in" | "not_in"; values: string[] }
      | { segment: string; negate?: boolean };
    const condition = fc.oneof(
      fc.record({
        attribute: fc.constantFrom("plan", "geo.country"),
        op: fc.constantFrom("in" as const, "not_in" as const),
        values: fc.subarray(["v0", "v1", "v2", "DE", "FR"], { minLength: 1 }),
      }),
      fc.record({ segment: fc.constant("s"), negate: fc.boolean() }),
    ) as fc.Arbitrary<When>;
    const rule = fc.record({
      when: fc.array(condition, { minLength: 1, maxLength: 2 }),
      serve: fc.constantFrom("on", "off"),
    });
    const rules = (max: number) => fc.array(rule, { maxLength: max });
    const holds = (w: When, ctx: EvaluationContext): boolean => {
      if ("segment" in w) return (ctx.targetingKey === "u1") !== (w.negate === true);
      const v = w.attribute === "plan" ? ctx.attributes?.plan : ctx.geo?.country;
      return naive(w.op, w.values, v);
    };
    fc.assert(
      fc.property(
        fc.array(rules(3), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(rules(2), fc.nat(), fc.constantFrom("on", "off")), { minLength: 1, maxLength: 10 }),
        fc.array(
          fc.record({
            key: fc.constantFrom("u1", "u2"),
            plan: fc.constantFrom("v0", "v1", "v3"),
            country: fc.constantFrom("DE", "FR", "US"),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (tails, heads, contexts) => {
          const defs = heads.map(([head, t, fallthrough]) => ({
            rules: [...head, ...tails[t % tails.length]!].map((r, i) => ({ ...r, id: `r${i}` })),
            fallthrough,
          }));
          const c = compile({
            flags: Object.fromEntries(defs.map((def, i) => [`f${i}`, def])),
            segments: { s: { included: ["u1"] } },
          });
          for (const { key, plan, country } of contexts) {
            const ctx: EvaluationContext = { targetingKey: key, attributes: { plan }, geo: { country } };
            const all = evaluateAll(c, ctx, NOW);
            defs.forEach((def, i) => {
              const match = def.rules.find((r) => r.when.every((w) => holds(w, ctx)));
              const want = {
                value: (match?.serve ?? def.fallthrough) === "on",
                ruleId: match?.id ?? "fallthrough",
              };
              const got = all[i]!;
              expect({ value: got.value, ruleId: got.ruleId }).toEqual(want);
              const one = evaluate(c, `f${i}`, ctx, NOW);
              expect({ value: one.value, ruleId: one.ruleId }).toEqual(want);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
