/**
 * The generated shape check (src/flags/shape.generated.ts), which the worker runs on every snapshot:
 * current with the schema, accepting exactly what valibot accepts, and naming where a document fails.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
// Node 20 has no URLPattern; the gate checks of validateDocument need it (parse.ts loads it too).
import "urlpattern-polyfill";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { generateShapeChecker, SHAPE_FILE } from "../../scripts/gen-shape";
import { FlagsDocumentSchema } from "../../src/flags/schema";
import { checkShape } from "../../src/flags/shape.generated";
import { validateDocument } from "../../src/flags/validate";
import { mutated, mutation, RICH } from "./rich-document";

const valibotAccepts = (doc: unknown) => v.safeParse(FlagsDocumentSchema, doc).success;
const shapeAccepts = (doc: unknown) => checkShape(doc) === undefined;

const ODD_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** Whether a map anywhere in `value` has a key valibot's record skips without checking. */
function hasOddKey(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  for (const key of Object.keys(value)) {
    if (ODD_KEYS.has(key) || hasOddKey((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

describe("src/flags/shape.generated.ts", () => {
  it("is up to date (run `npm run schema` after changing the schema)", () => {
    expect(readFileSync(SHAPE_FILE, "utf8")).toBe(generateShapeChecker());
  });

  it("accepts a document that uses every part of the schema", () => {
    expect(valibotAccepts(RICH)).toBe(true);
    expect(checkShape(RICH)).toBeUndefined();
    expect(validateDocument(RICH)).toEqual({ ok: true, document: RICH });
  });

  it("agrees with valibot on changed documents, both ways", () => {
    let yes = 0;
    let no = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (changes) => {
        const doc = mutated(changes);
        const shape = shapeAccepts(doc);
        if (shape) yes++;
        else no++;
        if (hasOddKey(doc)) {
          // Stricter only: valibot skips these keys, the shape check checks them.
          if (shape) expect(valibotAccepts(doc)).toBe(true);
        } else {
          expect(shape).toBe(valibotAccepts(doc));
        }
      }),
      { numRuns: 3000 },
    );
    // Both answers were exercised, so the property was not vacuous.
    expect(yes).toBeGreaterThan(50);
    expect(no).toBeGreaterThan(50);
  });

  it("agrees with valibot on arbitrary data, at the top and as a flag", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 5, withNullPrototype: true, withObjectString: true }), (input) => {
        for (const doc of [input, { flags: { a: input } }, { flags: {}, gates: [input] }]) {
          if (hasOddKey(doc)) {
            if (shapeAccepts(doc)) expect(valibotAccepts(doc)).toBe(true);
          } else {
            expect(shapeAccepts(doc)).toBe(valibotAccepts(doc));
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("checks the keys valibot's record skips", () => {
    const doc = JSON.parse('{"flags": {"__proto__": {"fallthrough": "on"}}}');
    expect(checkShape(doc)?.path).toEqual(["flags", "__proto__"]);
    expect(checkShape({ flags: { constructor: { fallthrough: "on" } } })).toBeUndefined();
  });

  const flag = (fields: Record<string, unknown>) => ({ flags: { x: { fallthrough: "on", ...fields } } });
  it.each<[string, unknown, (string | number)[], unknown]>([
    ["no document", null, [], "a map of fields"],
    ["a list for the flags map", { flags: [] }, ["flags"], "a map"],
    ["no flags map", {}, ["flags"], "a required field"],
    ["an unknown field", flag({ colour: "red" }), ["flags", "x", "colour"], "no such field"],
    ["a missing fallthrough", { flags: { x: {} } }, ["flags", "x", "fallthrough"], "a required field"],
    [
      "a bad flag name",
      { flags: { "-x": { fallthrough: "on" } } },
      ["flags", "-x"],
      "a key that is text matching /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/",
    ],
    [
      "a number for a fallthrough",
      flag({ fallthrough: 1 }),
      ["flags", "x", "fallthrough"],
      "(string | Object)",
    ],
    [
      "a negative split weight, deep in a rule",
      flag({ rules: [{ when: [], serve: { split: { on: -1 } } }] }),
      ["flags", "x", "rules", 0, "serve", "split", "on"],
      "a number >= 0",
    ],
    [
      "an unknown operator",
      flag({ rules: [{ when: [{ attribute: "plan", op: "like" }], serve: "on" }] }),
      ["flags", "x", "rules", 0, "when", 0, "op"],
      'one of "in", "not_in", "equals", "not_equals", "starts_with", "ends_with", "contains", "matches", "lt", "lte", "gt", "gte", "before", "after", "semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte", "exists", "not_exists"',
    ],
    [
      "a segment in a segment rule",
      { flags: {}, segments: { s: { rules: [{ when: [{ segment: "t" }] }] } } },
      ["segments", "s", "rules", 0, "when", 0, "segment"],
      "no such field",
    ],
    [
      "a function as a variant value",
      flag({ variants: { on: () => 1, off: false } }),
      ["flags", "x", "variants", "on"],
      "plain JSON",
    ],
    [
      "a deny status out of range",
      { flags: {}, gates: [{ pattern: "/a", flag: "x", allow: ["on"], deny: { status: 200 } }] },
      ["gates", 0, "deny", "status"],
      "a number >= 400",
    ],
    // Unions: the option that got furthest names the problem (the first of equals); none, the union.
    [
      "an infinite condition value",
      flag({ rules: [{ when: [{ attribute: "a", op: "lt", values: [1, Infinity] }], serve: "on" }] }),
      ["flags", "x", "rules", 0, "when", 0, "values", 1],
      "(string | number | boolean)",
    ],
    [
      "a list for a condition",
      flag({ rules: [{ when: [[]], serve: "on" }] }),
      ["flags", "x", "rules", 0, "when", 0],
      "Object",
    ],
    [
      "a segment condition with a bad negate (the attribute test got as far)",
      flag({ rules: [{ when: [{ segment: "s", negate: 1 }], serve: "on" }] }),
      ["flags", "x", "rules", 0, "when", 0, "segment"],
      "no such field",
    ],
    [
      "an operator that is a list",
      flag({ rules: [{ when: [{ attribute: "a", op: ["in"] }], serve: "on" }] }),
      ["flags", "x", "rules", 0, "when", 0, "op"],
      expect.stringMatching(/^one of "in", "not_in", /),
    ],
    [
      "a serve that is true",
      flag({ rules: [{ when: [], serve: true }] }),
      ["flags", "x", "rules", 0, "serve"],
      "(string | Object)",
    ],
    [
      "a split that is a number",
      flag({ fallthrough: { split: 5 } }),
      ["flags", "x", "fallthrough", "split"],
      "(Object | Array)",
    ],
    [
      "a split entry without a weight",
      flag({ fallthrough: { split: [{ variant: "a" }] } }),
      ["flags", "x", "fallthrough", "split", 0, "weight"],
      "a required field",
    ],
    [
      "a fractional weight in a rollout step",
      flag({ fallthrough: { split: { a: 1 }, steps: [{ at: "t", split: { a: 0.5 } }] } }),
      ["flags", "x", "fallthrough", "steps", 0, "split", "a"],
      "a whole number",
    ],
    ["an empty variants map", flag({ variants: {} }), ["flags", "x", "variants"], "at least 1 entries"],
    [
      "a target that is a number",
      flag({ targets: { on: ["u", 7] } }),
      ["flags", "x", "targets", "on", 1],
      "a string",
    ],
    [
      "a window without days",
      flag({ schedule: { windows: [{ days: [], start: "09:00", end: "10:00" }] } }),
      ["flags", "x", "schedule", "windows", 0, "days"],
      "not empty",
    ],
    [
      "a redirect with a bad status (the status answer got as far)",
      {
        flags: {},
        gates: [{ pattern: "/a", flag: "x", allow: ["on"], deny: { redirect: "/b", status: 300 } }],
      },
      ["gates", 0, "deny", "redirect"],
      "no such field",
    ],
    [
      "a deny that is text",
      { flags: {}, gates: [{ pattern: "/a", flag: "x", allow: ["on"], deny: "no" }] },
      ["gates", 0, "deny"],
      "Object",
    ],
  ])("names where it fails: %s", (_what, doc, path, expected) => {
    expect(valibotAccepts(doc)).toBe(false);
    expect(checkShape(doc)).toEqual({ path, expected });
  });
});
