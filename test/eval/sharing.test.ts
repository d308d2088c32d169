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
});
