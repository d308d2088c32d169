/**
 * The per-evaluation memo is reused across calls (evaluate.ts): these pin that reuse changes no answer.
 * evaluate() of each flag, called in any order and interleaved across contexts, must return exactly
 * what evaluateAll() returns for that flag, and what a snapshot never evaluated before returns.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, evaluate, evaluateAll, evaluateValues } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import type {
  AttributeCondition,
  Condition,
  FlagDefinition,
  FlagsDocument,
  Prerequisite,
  SegmentDefinition,
} from "../../src/flags/types";
import { NOW, pinned } from "./helpers";

const SEGMENTS = ["s0", "s1", "s2"];
const USERS = ["user-1", "user-2", "user-3", "user-4"];

const attributeCondition: fc.Arbitrary<AttributeCondition> = fc.oneof(
  fc.record({
    attribute: fc.constantFrom("key", "plan", "geo.country"),
    op: fc.constantFrom("in" as const, "not_in" as const),
    values: fc.subarray(["user-1", "user-3", "pro", "free", "DE", "US"], { minLength: 1 }),
  }),
  fc.record({ attribute: fc.constantFrom("age", "beta"), op: fc.constantFrom("exists" as const) }),
  fc.record({
    attribute: fc.constant("age"),
    op: fc.constantFrom("lt" as const),
    values: fc.tuple(fc.nat(40)),
  }),
);

const condition: fc.Arbitrary<Condition> = fc.oneof(
  attributeCondition,
  fc.record({ segment: fc.constantFrom(...SEGMENTS), negate: fc.boolean() }),
);

const serve = fc.oneof(
  fc.constantFrom("on", "off"),
  fc.record({
    split: fc.record({ on: fc.integer({ min: 1, max: 9 }), off: fc.integer({ min: 1, max: 9 }) }),
  }),
);

/** Flag i may have flags 0..i-1 as prerequisites, so chains and diamonds occur, never cycles. */
function flagAt(i: number): fc.Arbitrary<FlagDefinition> {
  return fc
    .record({
      enabled: fc.boolean(),
      prerequisites:
        i === 0
          ? fc.constant<Prerequisite[]>([])
          : fc
              .uniqueArray(fc.nat(i - 1), { maxLength: 2 })
              .chain((deps) =>
                fc.tuple(
                  ...deps.map((d) =>
                    fc
                      .subarray(["on", "off"], { minLength: 1 })
                      .map((variants) => ({ flag: `f${d}`, variants })),
                  ),
                ),
              ),
      targets: fc.record({ on: fc.subarray(USERS), off: fc.subarray(USERS) }),
      rules: fc.array(fc.record({ when: fc.array(condition, { maxLength: 3 }), serve }), { maxLength: 3 }),
      fallthrough: serve,
    })
    .map(
      (f): FlagDefinition => ({
        ...f,
        prerequisites: [...f.prerequisites],
        enabled: f.enabled || i % 3 !== 0,
      }),
    );
}

const documentArb: fc.Arbitrary<FlagsDocument> = fc
  .integer({ min: 1, max: 8 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => flagAt(i))))
  .chain((defs) =>
    fc.record({
      flags: fc.constant(Object.fromEntries(defs.map((d, i) => [`f${i}`, d]))),
      segments: fc.tuple(
        ...SEGMENTS.map(() =>
          fc.record<SegmentDefinition>({
            included: fc.subarray(USERS),
            excluded: fc.subarray(USERS),
            rules: fc.array(
              fc.record({ when: fc.array(attributeCondition, { minLength: 1, maxLength: 2 }) }),
              {
                maxLength: 2,
              },
            ),
          }),
        ),
      ),
    }),
  )
  .map(({ flags, segments }) => ({
    flags,
    segments: Object.fromEntries(SEGMENTS.map((s, i) => [s, segments[i]!])),
  }));

const contextArb: fc.Arbitrary<EvaluationContext> = fc.record(
  {
    targetingKey: fc.constantFrom(...USERS, "user-9"),
    geo: fc.record({ country: fc.constantFrom("DE", "US", "FR") }),
    attributes: fc.record(
      { plan: fc.constantFrom("pro", "free"), age: fc.nat(50), beta: fc.boolean() },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe("a reused memo changes no answer", () => {
  it("evaluate() per flag, interleaved across contexts, equals evaluateAll() and a fresh snapshot", () => {
    fc.assert(
      fc.property(
        documentArb,
        fc.array(contextArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
        (doc, contexts, picks) => {
          const c = compile(doc);
          const all = contexts.map((ctx) => evaluateAll(c, ctx, NOW));
          for (const p of picks) {
            const j = p % contexts.length;
            const i = Math.floor(p / contexts.length) % c.keys.length;
            const key = c.keys[i]!;
            const got = evaluate(c, key, contexts[j]!, NOW);
            // Results are shared pre-built objects: the very same one.
            expect(got).toBe(all[j]![i]);
            expect(pinned(got)).toEqual(pinned(evaluate(compile(doc), key, contexts[j]!, NOW)));
          }
          for (const [j, ctx] of contexts.entries()) {
            expect(evaluateAll(c, ctx, NOW)).toEqual(all[j]);
            const values = evaluateValues(c, ctx, NOW);
            for (const r of all[j]!) expect(values[r.key]).toEqual(r.value);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("nested prerequisites (a chain and a diamond) evaluate correctly call after call", () => {
    const doc: FlagsDocument = {
      flags: {
        base: {
          rules: [{ when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "on" }],
          fallthrough: "off",
        },
        left: { prerequisites: [{ flag: "base", variants: ["on"] }], fallthrough: "on" },
        right: {
          prerequisites: [{ flag: "base", variants: ["on"] }],
          rules: [{ when: [{ attribute: "geo.country", op: "in", values: ["DE"] }], serve: "off" }],
          fallthrough: "on",
        },
        top: {
          prerequisites: [
            { flag: "left", variants: ["on"] },
            { flag: "right", variants: ["on"] },
          ],
          fallthrough: "on",
        },
      },
    };
    const c = compile(doc);
    const pro = { attributes: { plan: "pro" }, geo: { country: "US" } };
    const free = { attributes: { plan: "free" }, geo: { country: "US" } };
    const proDE = { attributes: { plan: "pro" }, geo: { country: "DE" } };
    // Alternating contexts: an outcome memoised for one call must never answer the next.
    for (let round = 0; round < 3; round++) {
      expect(pinned(evaluate(c, "top", pro, NOW))).toMatchObject({ value: true, reason: "DEFAULT" });
      expect(evaluate(c, "top", free, NOW)).toMatchObject({ value: false, ruleId: "prerequisite:left" });
      expect(evaluate(c, "top", proDE, NOW)).toMatchObject({ value: false, ruleId: "prerequisite:right" });
      expect(evaluate(c, "left", free, NOW).value).toBe(false);
      expect(evaluate(c, "left", pro, NOW).value).toBe(true);
    }
  });

  it("an evaluation started from inside another (an attribute getter) gets its own memo", () => {
    const c = compile({
      flags: {
        f: {
          rules: [{ when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "on" }],
          fallthrough: "off",
        },
        g: {
          rules: [
            { when: [{ attribute: "plan", op: "equals", values: ["pro"] }], serve: "on" },
            { when: [{ attribute: "nested", op: "exists" }], serve: "on" },
          ],
          fallthrough: "off",
        },
      },
    });
    let inner: unknown;
    const outer: EvaluationContext = {
      attributes: {
        plan: "free",
        get nested() {
          inner = evaluate(c, "f", { attributes: { plan: "pro" } }, NOW).value;
          return undefined;
        },
      },
    };
    expect(evaluate(c, "g", outer, NOW).value).toBe(false);
    expect(inner).toBe(true);
    expect(evaluate(c, "g", { attributes: { plan: "pro" } }, NOW).value).toBe(true);
    expect(evaluate(c, "f", { attributes: { plan: "free" } }, NOW).value).toBe(false);
  });
});

describe("target lists", () => {
  const many = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
  const doc: FlagsDocument = {
    flags: {
      a: { targets: { on: many }, fallthrough: "off" },
      b: { targets: { on: [...many].reverse() }, fallthrough: "off" },
      c: { targets: { off: ["user-1"], on: many }, fallthrough: "on" },
      d: { targets: { on: many.slice(1) }, fallthrough: "off" },
    },
  };

  it("identical lists, in any order, compile to one shared Set", () => {
    const c = compile(doc);
    const [a, b, cc, d] = c.flags;
    expect(b!.targets![0]!.keys).toBe(a!.targets![0]!.keys);
    expect(cc!.targets![1]!.keys).toBe(a!.targets![0]!.keys);
    expect(d!.targets![0]!.keys).not.toBe(a!.targets![0]!.keys);
  });

  it("each flag still serves its own variant, the first list naming a key winning", () => {
    const c = compile(doc);
    const user1 = { targetingKey: "user-1" };
    expect(evaluate(c, "a", user1, NOW)).toMatchObject({ key: "a", value: true, reason: "TARGETING_MATCH" });
    expect(evaluate(c, "b", user1, NOW)).toMatchObject({ key: "b", value: true });
    expect(evaluate(c, "c", user1, NOW)).toMatchObject({ key: "c", value: false, ruleId: "target" });
    expect(evaluate(c, "c", { targetingKey: "user-2" }, NOW)).toMatchObject({ value: true });
    expect(evaluate(c, "d", { targetingKey: "user-0" }, NOW)).toMatchObject({
      value: false,
      reason: "DEFAULT",
    });
  });
});
