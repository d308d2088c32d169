/**
 * First answers (src/eval/first.ts): a document the reader takes always compiles, and for any
 * context the reader's answers are the engine's, result for result; a document outside what it reads
 * is left to compile. Generated documents mix what the reader takes with what compile refuses and
 * what the reader leaves alone, so both halves are exercised.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { firstAnswer, firstAnswers, firstVisible, prepareFirst } from "../../src/eval/first";
import { compile, evaluate, evaluateAll } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import { checkShape } from "../../src/flags/shape.generated";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { NOW } from "./helpers";

/** Mostly what the reader takes; now and then something compile refuses or the reader leaves alone. */
const rarely = <T, U>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 15, arbitrary: usual }, { weight: 1, arbitrary: odd });

const WEIGHT = fc.constantFrom(0, 1, 25, 75, 100);
const VARIANT_SETS: (Record<string, unknown> | undefined)[] = [
  undefined,
  { a: "x", b: "y" },
  { a: 1, b: 2, on: 3 },
  { on: true, off: false },
  { a: "x", b: 2 },
  { a: { o: 1 }, b: { o: 2 } },
];

const condition = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      attribute: rarely(
        fc.constantFrom("plan", "geo.country", "key", "identity.sub", "toString"),
        fc.constantFrom("geo.bogus", "geo"),
      ),
      op: rarely(
        fc.constantFrom("in", "not_in", "equals", "not_equals"),
        fc.constantFrom("starts_with", "matches"),
      ),
      values: rarely(
        fc.subarray(["pro", "DE", "u1", 1, true] as (string | number | boolean)[], { minLength: 1 }),
        fc.constant([]),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { segment: rarely(fc.constantFrom("s0", "s1"), fc.constant("s9")), negate: fc.boolean() },
      { requiredKeys: ["segment"] },
    ),
  },
);

const flag: fc.Arbitrary<FlagDefinition> = fc.constantFrom(...VARIANT_SETS).chain((variants) => {
  const names = Object.keys(variants ?? { on: true, off: false });
  const variant = rarely(fc.constantFrom(...names), fc.constant("zz"));
  const split = fc.record(
    {
      split: fc.oneof(
        fc.dictionary(variant, WEIGHT, { minKeys: 1, maxKeys: 3 }),
        fc.array(fc.record({ variant, weight: WEIGHT }), { minLength: 1, maxLength: 3 }),
      ),
      by: rarely(fc.constantFrom("key", "plan", "geo.country"), fc.constant("geo.bogus")),
      salt: fc.string({ maxLength: 3 }),
    },
    { requiredKeys: ["split"] },
  );
  const serve = fc.oneof({ weight: 3, arbitrary: variant }, { weight: 2, arbitrary: split });
  return fc
    .record(
      {
        enabled: fc.boolean(),
        offVariant: variant,
        clientVisible: fc.boolean(),
        targets: fc.dictionary(variant, fc.subarray(["u1", "u2", "u3"]), { maxKeys: 2 }),
        rules: fc.array(
          fc.record(
            {
              id: fc.constantFrom("r", "s"),
              when: fc.array(condition, { minLength: 1, maxLength: 2 }),
              serve,
            },
            { requiredKeys: ["when", "serve"] },
          ),
          { maxLength: 3 },
        ),
        fallthrough: serve,
        other: rarely(
          fc.constantFrom({}, { description: "d", owner: "o", tags: ["t"] }),
          fc.constantFrom(
            { schedule: { from: "2026-01-01T00:00:00Z" } },
            { geo: { block: { countries: ["RU"] } } },
          ),
        ),
      },
      { requiredKeys: ["fallthrough", "other"] },
    )
    .map(({ other, ...def }) => ({ ...(variants ? { variants } : {}), ...def, ...other }) as FlagDefinition);
});

const doc: fc.Arbitrary<FlagsDocument> = fc
  .record({
    flags: fc.dictionary(fc.constantFrom("f0", "f1", "f2", "f3"), flag, { minKeys: 1, maxKeys: 3 }),
    segments: fc.dictionary(
      fc.constantFrom("s0", "s1"),
      fc.record(
        {
          included: fc.subarray(["u1", "u2", "u3"]),
          excluded: fc.subarray(["u1", "u2"]),
          rules: rarely(
            fc.constant([]),
            fc.constant([{ when: [{ attribute: "plan", op: "in", values: ["pro"] }] }]),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  })
  .map((d) => d as unknown as FlagsDocument);

const context: fc.Arbitrary<EvaluationContext> = fc.record(
  {
    targetingKey: fc.constantFrom("u1", "u2", "u3", "", "zz"),
    attributes: fc.record(
      { plan: fc.constantFrom<unknown>("pro", "free", 1, true, null) },
      { requiredKeys: [] },
    ),
    geo: fc.record({ country: fc.constantFrom("DE", "US") }, { requiredKeys: [] }),
    identity: fc.record({ sub: fc.constantFrom("u1", "pro") }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<EvaluationContext>;

describe("first answers", () => {
  it("take only documents that compile, and answer as evaluateAll does, result for result", () => {
    let taken = 0;
    let left = 0;
    fc.assert(
      fc.property(doc, fc.array(context, { minLength: 1, maxLength: 6 }), (d, contexts) => {
        fc.pre(checkShape(d) === undefined);
        const reader = prepareFirst(d);
        if (reader === undefined) {
          left++;
          return;
        }
        taken++;
        const compiled = compile(d); // throws (and fails the property) if the reader took a bad document
        for (const ctx of contexts) {
          for (const clientVisibleOnly of [true, false]) {
            expect(firstAnswers(reader, ctx, clientVisibleOnly)).toEqual(
              evaluateAll(compiled, ctx, NOW, { clientVisibleOnly }),
            );
          }
          for (const key of ["f0", "f1", "f2", "f3", "toString"]) {
            const one = firstAnswer(reader, key, ctx);
            if (compiled.has(key)) expect(one).toEqual(evaluate(compiled, key, ctx, NOW));
            else expect(one).toBeUndefined();
            for (const serverAccess of [true, false]) {
              expect(firstVisible(reader, key, serverAccess)).toBe(
                compiled.has(key) && (serverAccess || compiled.isClientVisible(key)),
              );
            }
          }
        }
      }),
      { numRuns: 3_000 },
    );
    // Neither half may be vacuous.
    expect(taken).toBeGreaterThan(300);
    expect(left).toBeGreaterThan(300);
  });

  const base: FlagDefinition = {
    rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro"] }], serve: "on" }],
    fallthrough: "off",
  };
  const cases: [string, FlagsDocument][] = [
    ["a schedule", { flags: { f: { ...base, schedule: { from: "2026-01-01T00:00:00Z" } } } }],
    [
      "a prerequisite",
      { flags: { g: base, f: { ...base, prerequisites: [{ flag: "g", variants: ["on"] }] } } },
    ],
    ["a geo list", { flags: { f: { ...base, geo: { block: { countries: ["RU"] } } } } }],
    [
      "another operator",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "plan", op: "matches", values: ["^p"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
    ],
    [
      "a segment with rules, even unused",
      {
        flags: { f: base },
        segments: { s: { rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro"] }] }] } },
      },
    ],
    [
      "a progressive split",
      {
        flags: {
          f: {
            fallthrough: {
              split: { on: 1, off: 1 },
              steps: [{ at: "2026-01-01T00:00:00Z", split: { on: 2, off: 1 } }],
            },
          },
        },
      },
    ],
    ["JSON variants", { flags: { f: { variants: { a: { x: 1 }, b: { x: 2 } }, fallthrough: "a" } } }],
    [
      "a gate",
      { flags: { f: base }, gates: [{ pattern: "/beta/*", flag: "f" }] } as unknown as FlagsDocument,
    ],
    [
      "an unknown variant in a rule no context reaches",
      {
        flags: {
          f: {
            ...base,
            rules: [
              ...base.rules!,
              { when: [{ attribute: "plan", op: "in", values: ["x"] }], serve: "nope" },
            ],
          },
        },
      },
    ],
    [
      "an unknown segment",
      { flags: { f: { rules: [{ when: [{ segment: "nope" }], serve: "on" }], fallthrough: "off" } } },
    ],
    [
      "an unknown geo field",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "geo.planet", op: "in", values: ["x"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
    ],
    [
      "a split listing a variant twice",
      {
        flags: {
          f: {
            fallthrough: {
              split: [
                { variant: "on", weight: 1 },
                { variant: "on", weight: 1 },
              ],
            },
          },
        },
      },
    ],
    // The shape check refuses this before; compile would too.
    ["a split with a fractional weight", { flags: { f: { fallthrough: { split: { on: 0.5, off: 1 } } } } }],
    ["a split with no weight", { flags: { f: { fallthrough: { split: { on: 0, off: 0 } } } } }],
    [
      "an unknown off variant of a disabled flag",
      { flags: { f: { ...base, enabled: false, offVariant: "nope" } } },
    ],
  ];
  it.each(cases)("leave to compile a document with %s", (_, d) => {
    expect(prepareFirst(d)).toBeUndefined();
  });

  it("take the scenario's kind of document: listed countries, a segment of keys, a split", () => {
    const d: FlagsDocument = {
      flags: {
        a: {
          clientVisible: true,
          targets: { on: ["vip"] },
          rules: [
            {
              when: [
                { attribute: "geo.country", op: "in", values: ["DE", "FR"] },
                { attribute: "plan", op: "equals", values: ["pro"] },
              ],
              serve: "on",
            },
            { when: [{ segment: "beta" }], serve: "on" },
            { when: [{ attribute: "geo.country", op: "not_in", values: ["DE"] }], serve: "off" },
          ],
          fallthrough: { split: { on: 25, off: 75 } },
        },
        b: { variants: { x: "x", y: "y" }, fallthrough: "x" },
        c: { enabled: false, fallthrough: "on" },
      },
      segments: { beta: { included: ["u1"], excluded: ["vip"] } },
    };
    const reader = prepareFirst(d)!;
    expect(reader).toBeDefined();
    const compiled = compile(d);
    for (const ctx of [
      { targetingKey: "vip" },
      { targetingKey: "u1", geo: { country: "US" } },
      { targetingKey: "u7", geo: { country: "DE" }, attributes: { plan: "pro" } },
      { targetingKey: "u8", geo: { country: "DE" } },
      { geo: { country: "DE" } },
    ] as EvaluationContext[]) {
      const want = evaluateAll(compiled, ctx, NOW);
      expect(firstAnswers(reader, ctx, false)).toEqual(want);
      expect(firstAnswers(reader, ctx, true)).toEqual(want.filter((r) => r.key === "a"));
    }
  });
});
