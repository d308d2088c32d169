/** validateDocument: paths of problems, what it accepts, purity, speed. */
import { describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { validateDocument } from "../../src/flags/validate";

const ok = (doc: unknown) => validateDocument(doc);
const problemsOf = (doc: unknown) => {
  const r = validateDocument(doc);
  return r.ok ? [] : r.problems;
};

describe("validateDocument", () => {
  it("accepts a minimal document and returns the very same object", () => {
    const doc = { flags: { a: { fallthrough: "on" } } };
    const r = ok(doc);
    expect(r.ok && r.document).toBe(doc);
  });

  it.each<[string, unknown, (string | number)[], string, boolean?]>([
    [
      "unknown top-level field",
      { flags: {}, flag: {} },
      ["flag"],
      'unknown field "flag" (did you mean "flags"?)',
      true,
    ],
    [
      "bad variant name",
      { flags: { a: { variants: { "bad name": 1, off: 0 }, fallthrough: "off" } } },
      ["flags", "a", "variants", "bad name"],
      'invalid variant name "bad name"',
      true,
    ],
    [
      "non-JSON variant",
      { flags: { a: { variants: { on: Number.NaN, off: 0 }, fallthrough: "off" } } },
      ["flags", "a", "variants", "on"],
      "variant value must be plain JSON",
    ],
    [
      "infinite condition value",
      {
        flags: {
          a: {
            rules: [{ when: [{ attribute: "n", op: "lt", values: [Infinity] }], serve: "on" }],
            fallthrough: "on",
          },
        },
      },
      ["flags", "a", "rules", 0, "when", 0, "values", 0],
      "condition values must be finite numbers, got Infinity",
    ],
    [
      "type without variants",
      { flags: { a: { type: "string", fallthrough: "on" } } },
      ["flags", "a", "type"],
      'flag "a" is declared string but has no variants',
    ],
    [
      "reserved rule id",
      { flags: { a: { rules: [{ id: "geo", when: [], serve: "on" }], fallthrough: "on" } } },
      ["flags", "a", "rules", 0, "id"],
      'rule id "geo" is reserved',
    ],
    [
      "default rule id taken",
      {
        flags: {
          a: {
            rules: [
              { id: "rule-1", when: [], serve: "on" },
              { when: [], serve: "off" },
            ],
            fallthrough: "on",
          },
        },
      },
      ["flags", "a", "rules", 1],
      'rule id "rule-1" is already used by rule 0',
    ],
    [
      "bare geo attribute",
      {
        flags: {
          a: { rules: [{ when: [{ attribute: "geo", op: "exists" }], serve: "on" }], fallthrough: "on" },
        },
      },
      ["flags", "a", "rules", 0, "when", 0, "attribute"],
      'attribute "geo" needs a field',
    ],
    [
      "split by an unknown geo field",
      { flags: { a: { fallthrough: { split: { on: 1 }, by: "geo.zip" } } } },
      ["flags", "a", "fallthrough", "by"],
      'unknown geo field "zip"',
    ],
    [
      "geo without lists",
      { flags: { a: { geo: { serve: "off" }, fallthrough: "on" } } },
      ["flags", "a", "geo"],
      'geo needs an "allow" or a "block" list',
    ],
    [
      "segment inside a segment rule",
      { flags: {}, segments: { s: { rules: [{ when: [{ segment: "t" }] }] } } },
      ["segments", "s", "rules", 0, "when", 0],
      "a segment rule cannot use another segment",
    ],
    ["a list where flags should be", { flags: [] }, ["flags"], "flags must be a map, got a list"],
    [
      "empty variants",
      { flags: { a: { variants: {}, fallthrough: "on" } } },
      ["flags", "a", "variants"],
      "variants must not be empty",
    ],
    [
      "prerequisite without variants",
      {
        flags: {
          a: { prerequisites: [{ flag: "b", variants: [] }], fallthrough: "on" },
          b: { fallthrough: "on" },
        },
      },
      ["flags", "a", "prerequisites", 0, "variants"],
      "variants must list at least one variant",
    ],
    [
      "epoch with fraction",
      {
        flags: {
          a: {
            rules: [{ when: [{ attribute: "t", op: "after", values: [1.5] }], serve: "on" }],
            fallthrough: "on",
          },
        },
      },
      ["flags", "a", "rules", 0, "when", 0, "values", 0],
      "1.5 is not epoch milliseconds",
    ],
  ])("%s", (_, doc, path, message, onKey) => {
    const problems = problemsOf(doc);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toEqual(path);
    expect(problems[0]!.message).toContain(message);
    expect(problems[0]!.onKey ?? false).toBe(onKey ?? false);
  });

  it("reports every unknown field of an object, not just the first", () => {
    const problems = problemsOf({ flags: { a: { fallthrough: "on", x1: 1, x2: 2 } } });
    expect(problems.map((p) => [p.path, p.message, p.onKey])).toEqual([
      [["flags", "a", "x1"], expect.stringContaining('unknown field "x1"'), true],
      [["flags", "a", "x2"], expect.stringContaining('unknown field "x2"'), true],
    ]);
  });

  it.each<[string, unknown]>([
    [
      "operators with valid values",
      [
        { attribute: "key", op: "in", values: ["a", 1, true] },
        { attribute: "identity.plan", op: "equals", values: ["pro"] },
        { attribute: "geo.isEU", op: "not_equals", values: [false] },
        { attribute: "geo.asn", op: "gte", values: [13335] },
        {
          attribute: "signup",
          op: "before",
          values: ["2026-01-01", "2026-01-01T10:00:00.123+02:00", 1767225600000],
        },
        { attribute: "app", op: "semver_lt", values: ["v2.0.0-rc.1+build.5"] },
        { attribute: "email", op: "matches", values: ["^[a-z]+@example\\.com$"] },
        { attribute: "name", op: "not_exists" },
        { segment: "s", negate: true },
      ],
    ],
  ])("accepts %s", (_, when) => {
    const doc = { flags: { a: { rules: [{ when, serve: "on" }], fallthrough: "off" } }, segments: { s: {} } };
    expect(problemsOf(doc)).toEqual([]);
  });

  it("accepts a window ending at 24:00 and a declared json type with null", () => {
    const doc: FlagsDocument = {
      flags: {
        a: {
          type: "json",
          variants: { off: null, on: { a: [1] } },
          schedule: { timezone: "Asia/Tokyo", windows: [{ days: ["sun"], start: "20:00", end: "24:00" }] },
          fallthrough: "on",
        },
      },
    };
    expect(problemsOf(doc)).toEqual([]);
  });

  it("never mutates its input", () => {
    const doc = {
      flags: {
        a: {
          variants: { on: "x", off: 3 },
          rules: [{ when: [{ attribute: "a", op: "in" }], serve: "zz" }],
          fallthrough: "on",
        },
      },
    };
    const before = JSON.stringify(doc);
    Object.freeze(doc);
    expect(problemsOf(doc).length).toBeGreaterThan(0);
    expect(JSON.stringify(doc)).toBe(before);
  });

  it("validates a 1,000-flag document in a few milliseconds", () => {
    const flags: FlagsDocument["flags"] = {};
    for (let i = 0; i < 1000; i++) {
      flags[`flag-${i}`] = {
        clientVisible: i % 2 === 0,
        targets: { on: [`user-${i}`] },
        rules: [{ when: [{ attribute: "geo.country", op: "in", values: ["DE", "FR"] }], serve: "on" }],
        fallthrough: { split: { on: 10, off: 90 } },
      };
    }
    const doc = { flags };
    for (let i = 0; i < 3; i++) validateDocument(doc);
    const start = performance.now();
    const runs = 10;
    for (let i = 0; i < runs; i++) expect(validateDocument(doc).ok).toBe(true);
    // Typically 2-4 ms here; the bound only catches an accidental blow-up.
    expect((performance.now() - start) / runs).toBeLessThan(50);
  });
});

describe("keys valibot skips (__proto__, constructor, prototype)", () => {
  it.each<[string, unknown, (string | number)[]]>([
    [
      "a bad flag named constructor",
      { flags: { constructor: { fallthrough: 5 } } },
      ["flags", "constructor", "fallthrough"],
    ],
    [
      "a bad split under prototype",
      { flags: { prototype: { fallthrough: { split: { on: -3 } } } } },
      ["flags", "prototype", "fallthrough", "split", "on"],
    ],
    [
      "a flag named __proto__",
      JSON.parse('{"flags": {"__proto__": {"fallthrough": "on"}}}'),
      ["flags", "__proto__"],
    ],
  ])("refuses %s, as the worker would", (_what, doc, path) => {
    const result = validateDocument(doc);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.path)).toContainEqual(path);
  });

  it("accepts a well-formed flag named constructor", () => {
    const doc = { flags: { constructor: { fallthrough: "on" } } };
    expect(validateDocument(doc)).toEqual({ ok: true, document: doc });
  });
});

describe("semantic versions", () => {
  it.each([
    "1.2.99999999999999999",
    `1.0.0-${"a".repeat(300)}`,
  ])("refuses %s, which the engine could not compare", (version) => {
    const doc = {
      flags: {
        f: {
          rules: [{ when: [{ attribute: "app", op: "semver_gt", values: [version] }], serve: "on" }],
          fallthrough: "off",
        },
      },
    };
    expect(validateDocument(doc).ok).toBe(false);
  });
});

describe("serve and fallthrough messages", () => {
  it.each<[string, unknown, string]>([
    [
      "fallthrough",
      { flags: { f: { fallthrough: true } } },
      'fallthrough must be a variant name (like "on") or a split, got true',
    ],
    [
      "serve",
      { flags: { f: { rules: [{ when: [], serve: 1 }], fallthrough: "off" } } },
      'serve must be a variant name (like "on") or a split, got 1',
    ],
  ])("say what a %s can be", (_what, doc, message) => {
    const result = validateDocument(doc);
    expect(!result.ok && result.problems.map((p) => p.message)).toContain(message);
  });
});
