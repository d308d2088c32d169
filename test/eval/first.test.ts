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
const FLAG_KEYS = ["f0", "f1", "f2", "f3"];

/** In-list tests and every other operator, each with values it takes and, rarely, ones it refuses. */
const attributeCondition = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      attribute: rarely(
        fc.constantFrom("plan", "geo.country", "key", "identity.sub", "toString"),
        fc.constantFrom("geo.bogus", "geo"),
      ),
      op: fc.constantFrom("in", "not_in", "equals", "not_equals"),
      values: rarely(
        fc.subarray(["pro", "DE", "u1", 1, true] as (string | number | boolean)[], { minLength: 1 }),
        fc.constant([]),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constantFrom("plan", "key"),
      op: fc.constantFrom("starts_with", "ends_with", "contains"),
      values: fc.subarray(["p", "ro", "u", "1"], { minLength: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constant("plan"),
      op: fc.constant("matches"),
      values: fc.tuple(
        rarely(fc.constantFrom("^p", "o$", "^(pro|free)$"), fc.constantFrom("(a+)+$", "([", "(x*)*y")),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constant("n"),
      op: fc.constantFrom("lt", "lte", "gt", "gte"),
      values: fc.tuple(rarely(fc.constantFrom(1, 5, "7"), fc.constant("x"))),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constant("version"),
      op: fc.constantFrom("semver_eq", "semver_lt", "semver_gte"),
      values: fc.tuple(rarely(fc.constantFrom("1.2.3", "2.0.0"), fc.constant("v2"))),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constant("when"),
      op: fc.constantFrom("before", "after"),
      values: fc.tuple(
        rarely(fc.constantFrom("2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z"), fc.constant("soon")),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constantFrom("plan", "n"),
      op: fc.constantFrom("exists", "not_exists"),
    }),
  },
);

const condition = fc.oneof(
  { weight: 3, arbitrary: attributeCondition },
  {
    weight: 1,
    arbitrary: fc.record(
      { segment: rarely(fc.constantFrom("s0", "s1"), fc.constant("s9")), negate: fc.boolean() },
      { requiredKeys: ["segment"] },
    ),
  },
);

const geoLists = fc.record(
  {
    countries: fc.subarray(["DE", "US", "RU"]),
    continents: fc.subarray(["EU", "NA"]),
    regions: fc.subarray(["US-NY", "DE-BY"]),
  },
  { requiredKeys: [] },
);

const schedule = rarely(
  fc.record(
    {
      from: fc.constantFrom("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
      until: fc.constantFrom("2026-01-20T00:00:00Z", "2030-01-01T00:00:00Z"),
      windows: fc.constant([{ days: ["thu", "fri"], start: "09:00", end: "17:00" }]),
      timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York"),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom(
    { timezone: "Mars/Olympus", windows: [{ days: ["mon"], start: "09:00", end: "10:00" }] },
    { from: "yesterday" },
  ),
);

// The mixed set ({ a: "x", b: 2 }) is one compile refuses.
const variantSet = rarely(
  fc.constantFrom(...VARIANT_SETS.filter((_, i) => i !== 4)),
  fc.constant(VARIANT_SETS[4]),
);

const flag: fc.Arbitrary<FlagDefinition> = variantSet.chain((variants) => {
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
        schedule,
        prerequisites: fc.oneof(
          { weight: 3, arbitrary: fc.constant([]) },
          {
            weight: 1,
            arbitrary: fc.array(
              fc.record({
                flag: rarely(fc.constantFrom(...FLAG_KEYS), fc.constant("nope")),
                variants: fc.constantFrom(["on"], ["off"], ["a"], ["b"]),
              }),
              { minLength: 1, maxLength: 2 },
            ),
          },
        ),
        geo: fc.record({ allow: geoLists, block: geoLists, serve: variant }, { requiredKeys: [] }),
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
        other: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom({}, { description: "d", owner: "o", tags: ["t"] }) },
          {
            weight: 2,
            arbitrary: fc.constant({
              fallthrough: {
                split: { on: 1, off: 1 },
                steps: [{ at: "2026-01-16T00:00:00Z", split: { on: 2, off: 1 } }],
              },
            }),
          },
          {
            weight: 1,
            arbitrary: fc.constant({
              fallthrough: { split: { on: 1, off: 1 }, steps: [{ at: "someday", split: { on: 2, off: 1 } }] },
            }),
          },
        ),
      },
      // Each optional step of the evaluation order appears in some flags, not all.
      { requiredKeys: ["fallthrough", "other"] },
    )
    .map(({ other, ...def }) => ({ ...(variants ? { variants } : {}), ...def, ...other }) as FlagDefinition);
});

const doc: fc.Arbitrary<FlagsDocument> = fc
  .record({
    flags: fc.dictionary(fc.constantFrom(...FLAG_KEYS), flag, { minKeys: 1, maxKeys: 3 }),
    segments: fc.dictionary(
      fc.constantFrom("s0", "s1"),
      fc.record(
        {
          included: fc.subarray(["u1", "u2", "u3"]),
          excluded: fc.subarray(["u1", "u2"]),
          rules: fc.array(fc.record({ when: fc.array(attributeCondition, { minLength: 1, maxLength: 2 }) }), {
            maxLength: 2,
          }),
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
      {
        plan: fc.constantFrom<unknown>("pro", "free", 1, true, null),
        n: fc.constantFrom<unknown>(0, 3, 7, "6", "x"),
        version: fc.constantFrom("1.2.3", "2.0.0", "2.1.0-beta", "junk"),
        when: fc.constantFrom("2025-06-01T00:00:00Z", "2026-03-01T00:00:00Z", 1767225600000),
      },
      { requiredKeys: [] },
    ),
    geo: fc.record(
      {
        country: fc.constantFrom("DE", "US", "RU"),
        continent: fc.constantFrom("EU", "NA"),
        regionCode: fc.constantFrom("NY", "BY"),
      },
      { requiredKeys: [] },
    ),
    identity: fc.record({ sub: fc.constantFrom("u1", "pro") }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<EvaluationContext>;

/** Moments the schedules above are on and off at: inside and outside windows, before and after. */
const MOMENTS = [
  NOW,
  Date.UTC(2026, 0, 16, 8, 0),
  Date.UTC(2026, 0, 16, 20, 0),
  Date.UTC(2024, 5, 1),
  Date.UTC(2031, 0, 1),
];

describe("first answers", () => {
  it("take only documents that compile, and answer as evaluateAll does, result for result", () => {
    let taken = 0;
    let left = 0;
    fc.assert(
      fc.property(
        doc,
        fc.array(context, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...MOMENTS),
        (d, contexts, now) => {
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
              expect(firstAnswers(reader, ctx, now, clientVisibleOnly)).toEqual(
                evaluateAll(compiled, ctx, now, { clientVisibleOnly }),
              );
            }
            for (const key of [...FLAG_KEYS, "toString"]) {
              const one = firstAnswer(reader, key, ctx, now);
              if (compiled.has(key)) expect(one).toEqual(evaluate(compiled, key, ctx, now));
              else expect(one).toBeUndefined();
              for (const serverAccess of [true, false]) {
                expect(firstVisible(reader, key, serverAccess)).toBe(
                  compiled.has(key) && (serverAccess || compiled.isClientVisible(key)),
                );
              }
            }
          }
        },
      ),
      { numRuns: 4_000 },
    );
    // Neither half may be vacuous.
    expect(taken).toBeGreaterThan(250);
    expect(left).toBeGreaterThan(300);
  }, 60_000); // 4,000 documents, each compiled and evaluated: ~3 s alone, more beside other suites

  const base: FlagDefinition = {
    rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro"] }], serve: "on" }],
    fallthrough: "off",
  };
  const cases: [string, FlagsDocument][] = [
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
    [
      "a prerequisite cycle",
      {
        flags: {
          f: { ...base, prerequisites: [{ flag: "g", variants: ["on"] }] },
          g: { ...base, prerequisites: [{ flag: "f", variants: ["on"] }] },
        },
      },
    ],
    [
      "a prerequisite on itself",
      { flags: { f: { ...base, prerequisites: [{ flag: "f", variants: ["on"] }] } } },
    ],
    [
      "an unknown prerequisite",
      { flags: { f: { ...base, prerequisites: [{ flag: "g", variants: ["on"] }] } } },
    ],
    [
      "a prerequisite variant its flag lacks",
      { flags: { g: base, f: { ...base, prerequisites: [{ flag: "g", variants: ["maybe"] }] } } },
    ],
    [
      "an unknown time zone",
      {
        flags: {
          f: {
            ...base,
            schedule: {
              timezone: "Mars/Olympus",
              windows: [{ days: ["mon"], start: "09:00", end: "10:00" }],
            },
          },
        },
      },
    ],
    [
      "a window that starts where it ends",
      { flags: { f: { ...base, schedule: { windows: [{ days: ["mon"], start: "09:00", end: "09:00" }] } } } },
    ],
    [
      "an unsafe pattern",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "plan", op: "matches", values: ["(a+)+$"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
    ],
    [
      "an invalid pattern",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "plan", op: "matches", values: ["(["] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
    ],
    [
      "an invalid version",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "v", op: "semver_gte", values: ["two"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
    ],
    [
      "an unsafe pattern in an unused segment",
      {
        flags: { f: base },
        segments: { s: { rules: [{ when: [{ attribute: "plan", op: "matches", values: ["(x*)*y"] }] }] } },
      },
    ],
    [
      "a progressive step at no valid time",
      {
        flags: {
          f: { fallthrough: { split: { on: 1, off: 1 }, steps: [{ at: "soon", split: { on: 2, off: 1 } }] } },
        },
      },
    ],
    [
      "a progressive step listing a variant twice",
      {
        flags: {
          f: {
            fallthrough: {
              split: { on: 1, off: 1 },
              steps: [
                {
                  at: "2026-01-01T00:00:00Z",
                  split: [
                    { variant: "on", weight: 1 },
                    { variant: "on", weight: 1 },
                  ],
                },
              ],
            },
          },
        },
      },
    ],
    [
      "a geo list serving an unknown variant",
      { flags: { f: { ...base, geo: { block: { countries: ["RU"] }, serve: "nope" } } } },
    ],
  ];
  it.each(cases)("leave to compile a document with %s", (_, d) => {
    expect(prepareFirst(d)).toBeUndefined();
  });

  const takenCases: [string, FlagsDocument][] = [
    [
      "a schedule",
      {
        flags: {
          f: {
            ...base,
            schedule: {
              from: "2026-01-01T00:00:00Z",
              windows: [{ days: ["thu"], start: "09:00", end: "17:00" }],
              timezone: "Europe/Berlin",
            },
          },
        },
      },
    ],
    [
      "a prerequisite",
      { flags: { g: base, f: { ...base, prerequisites: [{ flag: "g", variants: ["on"] }] } } },
    ],
    ["a geo list", { flags: { f: { ...base, geo: { block: { countries: ["RU"], regions: ["US-NY"] } } } } }],
    [
      "other operators",
      {
        flags: {
          f: {
            rules: [
              {
                when: [
                  { attribute: "plan", op: "matches", values: ["^p"] },
                  { attribute: "v", op: "semver_gte", values: ["2.0.0"] },
                ],
              },
              { when: [{ attribute: "n", op: "gt", values: [3] }], serve: "on" },
            ].map((r) => ({ serve: "on", ...r })),
            fallthrough: "off",
          },
        },
      } as FlagsDocument,
    ],
    [
      "a progressive split",
      {
        flags: {
          f: {
            fallthrough: {
              split: { on: 1, off: 3 },
              steps: [
                { at: "2026-01-16T12:00:00Z", split: { on: 1, off: 1 } },
                {
                  at: "2026-01-10T00:00:00Z",
                  split: [
                    { variant: "off", weight: 1 },
                    { variant: "on", weight: 2 },
                  ],
                },
              ],
            },
          },
        },
      },
    ],
    [
      "JSON variants",
      {
        flags: {
          f: {
            variants: { a: { x: [1] }, b: { x: [2] } },
            rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro"] }], serve: "b" }],
            fallthrough: "a",
          },
        },
      },
    ],
    [
      "a segment with rules",
      {
        flags: { f: { rules: [{ when: [{ segment: "s" }], serve: "on" }], fallthrough: "off" } },
        segments: { s: { rules: [{ when: [{ attribute: "plan", op: "starts_with", values: ["p"] }] }] } },
      },
    ],
    [
      "splits by different attributes, flag after flag (each its own bucket key)",
      {
        flags: Object.fromEntries(
          Array.from({ length: 12 }, (_, i) => [
            `s${i}`,
            {
              clientVisible: true,
              fallthrough: {
                split:
                  i % 4 === 3
                    ? [
                        { variant: "off", weight: 1 },
                        { variant: "on", weight: 1 },
                      ]
                    : { on: 1, off: 1 },
                ...(i % 3 === 1 ? { by: "plan" } : i % 3 === 2 ? { by: "n" } : {}),
              },
            } as FlagDefinition,
          ]),
        ),
      },
    ],
  ];
  it.each(takenCases)("take a document with %s, and answer it as the engine does", (_, d) => {
    const reader = prepareFirst(d)!;
    expect(reader).toBeDefined();
    const compiled = compile(d);
    for (const now of MOMENTS) {
      for (const ctx of [
        {
          targetingKey: "u1",
          attributes: { plan: "pro", v: "2.1.0", n: 4 },
          geo: { country: "US", regionCode: "NY" },
        },
        { targetingKey: "u2", attributes: { plan: "free", v: "1.0.0", n: 1 }, geo: { country: "RU" } },
        {},
      ] as EvaluationContext[]) {
        const answers = firstAnswers(reader, ctx, now, false);
        expect(answers).toEqual(evaluateAll(compiled, ctx, now));
        // Values are never the document's own objects (compile hands out frozen copies).
        for (const r of answers) {
          if (r.value !== null && typeof r.value === "object") {
            expect(Object.isFrozen(r.value)).toBe(true);
            expect(Object.values(d.flags[r.key]!.variants!)).not.toContain(r.value);
          }
        }
      }
    }
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
      expect(firstAnswers(reader, ctx, NOW, false)).toEqual(want);
      expect(firstAnswers(reader, ctx, NOW, true)).toEqual(want.filter((r) => r.key === "a"));
    }
  });
});
