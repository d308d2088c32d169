/**
 * A flags document that uses every part of the schema, and fast-check mutations of it: the corpus for
 * tests that compare two implementations of the schema (valibot's and the generated shape check).
 */
import fc from "fast-check";

/** Every part of the schema, valid: each field, each kind of serve, condition and deny. */
export const RICH = {
  $schema: "./flags.schema.json",
  flags: {
    checkout: {
      description: "New checkout",
      owner: "payments",
      kind: "release",
      expires: "2030-01-31",
      ticket: "PAY-1",
      tags: ["web", "beta"],
      clientVisible: true,
      type: "string",
      enabled: true,
      variants: { red: "r", blue: "b", off: "o" },
      offVariant: "off",
      schedule: {
        from: "2025-01-01",
        until: "2031-01-01T00:00:00Z",
        timezone: "Europe/Berlin",
        windows: [{ days: ["mon", "fri"], start: "09:00", end: "24:00" }],
      },
      prerequisites: [{ flag: "base", variants: ["on"] }],
      geo: {
        allow: { countries: ["DE"], continents: ["EU"], regions: ["US-CA"] },
        block: { countries: ["RU"] },
        serve: "off",
      },
      targets: { red: ["user-1"], blue: ["user-2"] },
      rules: [
        {
          id: "pros",
          description: "paying users",
          when: [
            { attribute: "plan", op: "in", values: ["pro", 3, true] },
            { attribute: "age", op: "gte", values: [18.5] },
            { attribute: "beta", op: "exists" },
            { segment: "staff", negate: true },
          ],
          serve: "red",
        },
        {
          when: [{ attribute: "geo.country", op: "equals", values: ["DE"] }],
          serve: { split: { red: 1, blue: 3 }, by: "identity.sub", salt: "s1" },
        },
        {
          when: [{ attribute: "geo.country", op: "equals", values: ["FR"] }],
          serve: {
            split: [
              { variant: "blue", weight: 1 },
              { variant: "red", weight: 2 },
            ],
          },
        },
      ],
      fallthrough: {
        split: { red: 0, blue: 100 },
        by: "key",
        steps: [
          { at: "2030-01-01T00:00:00Z", split: { red: 50, blue: 50 } },
          { at: "2030-02-01T00:00:00Z", split: [{ variant: "blue", weight: 1 }] },
        ],
      },
    },
    base: { fallthrough: "on" },
    config: {
      variants: { a: { nested: [1, "x", null, { deep: false }] }, off: null },
      fallthrough: "a",
    },
  },
  segments: {
    staff: {
      description: "employees",
      included: ["user-9"],
      excluded: ["user-8"],
      rules: [{ when: [{ attribute: "identity.email", op: "ends_with", values: ["@example.com"] }] }],
    },
  },
  gates: [
    {
      id: "geo-block",
      pattern: "/checkout/*",
      host: "*.example.com",
      methods: ["GET", "POST"],
      flag: "base",
      allow: ["on"],
      deny: { status: 451, json: { error: "blocked", retry: false } },
      onUnavailable: "allow",
      inject: true,
      caseSensitive: false,
    },
    { pattern: "/a", flag: "base", allow: ["on"], deny: { status: 403, body: "no" } },
    { pattern: "/b", flag: "base", allow: ["on"], deny: { redirect: "/elsewhere", status: 308 } },
    { pattern: "/c", flag: "base", allow: ["on"], deny: { rewrite: "/unavailable" } },
  ],
};

/** The (object, key) of every node under `value`. */
function places(value: unknown, out: [Record<string | number, unknown>, string | number][] = []) {
  if (value !== null && typeof value === "object") {
    const o = value as Record<string | number, unknown>;
    for (const key of Object.keys(o)) {
      out.push([o, Array.isArray(o) ? Number(key) : key]);
      places(o[key], out);
    }
  }
  return out;
}

/** A deep copy of plain data, keeping null prototypes and sharing nothing with the original. */
function fresh(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(fresh);
  const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = fresh((value as Record<string, unknown>)[key]);
  return copy;
}

const odd = fc.oneof(
  fc.anything({ maxDepth: 2, withNullPrototype: true }),
  fc.constantFrom<unknown>(
    undefined,
    null,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -1,
    1.5,
    "",
    "off",
    "geo",
    "25:00",
    "2025-13-01",
    "__proto__",
    [],
    {},
    { split: {} },
    { segment: "staff" },
    { redirect: "" },
  ),
);
export const mutation = fc.tuple(fc.nat(), fc.constantFrom("replace", "delete", "add"), fc.string(), odd);

export type Mutation = [number, "replace" | "delete" | "add", string, unknown];

/** A fresh copy of RICH with `changes` applied. */
export function mutated(changes: readonly Mutation[]): unknown {
  const doc = structuredClone(RICH) as unknown;
  for (const [pick, op, key, shared] of changes) {
    // Arbitraries hand out the same constant objects to every run: insert a copy, or one run's
    // mutations would leak into the next (and into shrinking).
    const value = fresh(shared);
    const all = places(doc);
    const [parent, at] = all[pick % all.length]!;
    if (op === "replace") parent[at] = value;
    else if (op === "delete" && !Array.isArray(parent)) delete parent[at];
    else if (op === "add" && !Array.isArray(parent)) parent[key] = value;
  }
  return doc;
}
