/**
 * fast-check arbitraries of whole flags documents that compile, contexts and moments, covering every
 * step of the evaluation order: kill switch, schedules (bounds, weekly windows in several zones,
 * overnight windows), prerequisite chains and diamonds, geo allow / block lists, target lists, rules
 * with every operator and segments, splits by key or attribute with salts, list or map weights,
 * large totals and progressive steps. Pure, no I/O. Built on the shapes of test/eval/memo.test.ts,
 * widened to the whole contract.
 */
import fc from "fast-check";
import type { EvaluationContext } from "../../src/eval/types";
import type {
  AttributeCondition,
  Condition,
  FlagDefinition,
  FlagsDocument,
  GeoLists,
  GeoRule,
  Operator,
  Prerequisite,
  ProgressiveSplit,
  ScalarValue,
  Schedule,
  SegmentDefinition,
  Serve,
  SplitWeights,
} from "../../src/flags/types";

export const SEGMENTS = ["s0", "s1", "s2"];
export const USERS = ["user-1", "user-2", "user-3", "ü-4", "😀"];
const VARIANTS = ["on", "off"];

/** Instants the schedules and progressive steps use; moments are drawn around (and exactly at) them. */
export const INSTANTS = [
  "2026-01-01T00:00:00Z",
  "2026-03-29T01:30:00+01:00",
  "2026-06-01",
  "2026-07-01T00:00:00+02:00",
  "2026-11-01T08:00:00-05:00",
];
const FROM = Date.UTC(2025, 11, 1);
const UNTIL = Date.UTC(2026, 11, 31);

/** A moment: anywhere in the instants' range, or exactly at (or a millisecond before) one of them. */
export const nowArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: FROM, max: UNTIL }),
  fc
    .tuple(fc.constantFrom(...INSTANTS), fc.constantFrom(0, -1))
    .map(([at, d]) => Date.parse(at.length === 10 ? `${at}T00:00:00Z` : at) + d),
);

const OPERAND_VALUES: Record<string, ScalarValue[]> = {
  list: ["pro", "free", "DE", "US", 1, "1", true, 0, "user-1", "😀"],
  text: ["pr", "o", "e", "x", "DE"],
  regex: ["^p", "o$", "[0-9]+", "^(?:a|b)c$"],
  number: [0, 10, 18.5, -3, "20"],
  date: ["2026-01-01", "2026-06-01T00:00:00Z", 1767225600000],
  semver: ["1.2.3", "2.0.0-beta.1", "1.10.0"],
};
const OPERATORS: [Operator, keyof typeof OPERAND_VALUES | null][] = [
  ["in", "list"],
  ["not_in", "list"],
  ["equals", "list"],
  ["not_equals", "list"],
  ["starts_with", "text"],
  ["ends_with", "text"],
  ["contains", "text"],
  ["matches", "regex"],
  ["lt", "number"],
  ["lte", "number"],
  ["gt", "number"],
  ["gte", "number"],
  ["before", "date"],
  ["after", "date"],
  ["semver_eq", "semver"],
  ["semver_lt", "semver"],
  ["semver_lte", "semver"],
  ["semver_gt", "semver"],
  ["semver_gte", "semver"],
  ["exists", null],
  ["not_exists", null],
];
const ATTRIBUTES = [
  "key",
  "plan",
  "age",
  "app",
  "signup",
  "email",
  "geo.country",
  "geo.asn",
  "geo.isEU",
  "identity.role",
  "constructor",
];

export const attributeConditionArb: fc.Arbitrary<AttributeCondition> = fc
  .tuple(fc.constantFrom(...ATTRIBUTES), fc.constantFrom(...OPERATORS))
  .chain(([attribute, [op, kind]]) =>
    kind === null
      ? fc.constant<AttributeCondition>({ attribute, op })
      : fc
          .subarray(OPERAND_VALUES[kind]!, {
            minLength: 1,
            maxLength: op === "equals" || op === "not_equals" ? 1 : 3,
          })
          .map((values): AttributeCondition => ({ attribute, op, values })),
  );

const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  { weight: 3, arbitrary: attributeConditionArb },
  {
    weight: 1,
    arbitrary: fc.record({ segment: fc.constantFrom(...SEGMENTS), negate: fc.boolean() }),
  },
);

/** Weights over the two variants, as a map or a list, sometimes with a large total. */
const weightsArb: fc.Arbitrary<SplitWeights> = fc
  .tuple(
    fc.oneof(fc.nat(10), fc.integer({ min: 0, max: 5_000_000 })),
    fc.oneof(fc.nat(10), fc.integer({ min: 0, max: 5_000_000 })),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([a, b, reversed, asList]) => {
    const w = [a, b === 0 && a === 0 ? 1 : b];
    const names = reversed ? ["off", "on"] : ["on", "off"];
    return asList
      ? names.map((variant, i) => ({ variant, weight: w[i]! }))
      : Object.fromEntries(names.map((n, i) => [n, w[i]!]));
  });

const splitArb: fc.Arbitrary<ProgressiveSplit> = fc.record(
  {
    split: weightsArb,
    by: fc.constantFrom("key", "plan", "age", "identity.role"),
    salt: fc.constantFrom("s", "ü", ""),
    steps: fc.array(fc.record({ at: fc.constantFrom(...INSTANTS), split: weightsArb }), { maxLength: 3 }),
  },
  { requiredKeys: ["split"] },
);

const serveArb: fc.Arbitrary<Serve | ProgressiveSplit> = fc.oneof(fc.constantFrom(...VARIANTS), splitArb);

const geoListsArb: fc.Arbitrary<GeoLists> = fc.record(
  {
    countries: fc.subarray(["DE", "US", "FR", "CN"]),
    continents: fc.subarray(["EU", "NA", "AS"]),
    regions: fc.subarray(["US-NY", "US-CA", "DE-BE"]),
  },
  { requiredKeys: [] },
);

const geoArb: fc.Arbitrary<GeoRule> = fc.record(
  { allow: geoListsArb, block: geoListsArb, serve: fc.constantFrom(...VARIANTS) },
  { requiredKeys: [] },
);

const TIMES = ["00:00", "02:00", "09:00", "17:30", "22:00", "24:00"];
const scheduleArb: fc.Arbitrary<Schedule> = fc.record(
  {
    from: fc.constantFrom(...INSTANTS),
    until: fc.constantFrom(...INSTANTS),
    timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"),
    windows: fc.array(
      fc
        .record({
          days: fc.subarray(["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const, { minLength: 1 }),
          start: fc.constantFrom(...TIMES),
          end: fc.constantFrom(...TIMES),
        })
        .filter((w) => w.start !== w.end)
        .map((w) => ({ ...w, days: [...w.days] })),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

/** `arb` one time in `rarity`, else absent: steps that decide early would hide the later ones. */
function sometimes<T>(arb: fc.Arbitrary<T>, rarity: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: rarity - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Flag i may have flags 0..i-1 as prerequisites, so chains and diamonds occur, never cycles. */
function flagAt(i: number): fc.Arbitrary<FlagDefinition> {
  const prerequisites: fc.Arbitrary<Prerequisite[]> =
    i === 0
      ? fc.constant([])
      : fc
          .uniqueArray(fc.nat(i - 1), { maxLength: 2 })
          .chain((deps) =>
            fc.tuple(
              ...deps.map((d) =>
                fc.subarray(VARIANTS, { minLength: 1 }).map((variants) => ({ flag: `f${d}`, variants })),
              ),
            ),
          )
          .map((list) => [...list]);
  return fc.record(
    {
      enabled: sometimes(fc.constant(false), 8),
      variants: fc.constantFrom({ on: "A", off: "B" }, { on: 1, off: 2 }),
      offVariant: fc.constantFrom(...VARIANTS),
      schedule: sometimes(scheduleArb, 5),
      prerequisites,
      geo: sometimes(geoArb, 3),
      targets: fc.record({ on: fc.subarray(USERS), off: fc.subarray(USERS) }, { requiredKeys: [] }),
      rules: fc.array(
        fc.record(
          { id: fc.constantFrom("a", "b"), when: fc.array(conditionArb, { maxLength: 3 }), serve: serveArb },
          { requiredKeys: ["when", "serve"] },
        ),
        { maxLength: 3 },
      ),
      fallthrough: serveArb,
    },
    { requiredKeys: ["fallthrough"] },
  );
}

export const documentArb: fc.Arbitrary<FlagsDocument> = fc
  .integer({ min: 1, max: 6 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => flagAt(i))))
  .chain((defs) =>
    fc.record({
      flags: fc.constant(Object.fromEntries(defs.map((d, i) => [`f${i}`, d]))),
      segments: fc.tuple(
        ...SEGMENTS.map(() =>
          fc.record<SegmentDefinition>(
            {
              included: fc.subarray(USERS),
              excluded: fc.subarray(USERS),
              rules: fc.array(
                fc.record({ when: fc.array(attributeConditionArb, { minLength: 1, maxLength: 2 }) }),
                { maxLength: 2 },
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      ),
    }),
  )
  .map(({ flags, segments }) => ({
    flags,
    segments: Object.fromEntries(SEGMENTS.map((s, i) => [s, segments[i]!])),
  }));

const attributeValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("pro", "free", "1", 1, 0, true, "", "20", "abc", null, "DE"),
  fc.constantFrom("1.2.3", "2.0.0", "1.10.0-rc.1", "v1"),
  fc.constantFrom("2025-12-31", "2026-03-01T10:00:00Z", 1767225600000, "2026-02-30"),
  fc.constantFrom(["pro"], { a: 1 }),
  fc.integer({ min: -5, max: 40 }),
);

export const contextArb: fc.Arbitrary<EvaluationContext> = fc.record(
  {
    targetingKey: fc.constantFrom(...USERS, "user-9", ""),
    geo: fc.record(
      {
        country: fc.constantFrom("DE", "US", "FR", "CN"),
        continent: fc.constantFrom("EU", "NA", "AS"),
        regionCode: fc.constantFrom("NY", "CA", "BE"),
        asn: fc.constantFrom(3320, 7922),
        isEU: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    identity: fc.record({ role: attributeValueArb }, { requiredKeys: [] }),
    attributes: fc.record(
      {
        plan: attributeValueArb,
        age: attributeValueArb,
        app: attributeValueArb,
        signup: attributeValueArb,
        email: fc.constantFrom("ann@example.com", "pro@x.de"),
        constructor: attributeValueArb,
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
