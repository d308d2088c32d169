import { describe, expect, it } from "vitest";
import { MAX_MATCH_INPUT } from "../../src/eval/operators";
import type { Operator, ScalarValue } from "../../src/flags/types";
import { bool, evalFlag, pinned } from "./helpers";

const MISSING = Symbol("missing");

/** [operator, condition values, attribute value (MISSING: absent), matches?] */
type Row = [Operator, ScalarValue[] | undefined, unknown, boolean];

const rows: Row[] = [
  ["in", ["a", "b"], "a", true],
  ["in", ["a", "b"], "c", false],
  ["in", ["a", "b"], MISSING, false],
  ["in", [1, 2], 1, true],
  ["in", [1, 2], "1", false],
  ["in", ["1"], 1, false],
  ["in", [true], true, true],
  ["in", [true], "true", false],
  ["in", ["a"], ["a"], false],
  ["in", ["a"], null, false],
  ["not_in", ["a", "b"], "c", true],
  ["not_in", ["a", "b"], "a", false],
  ["not_in", ["a", "b"], MISSING, false],
  ["not_in", ["a"], { a: 1 }, false],
  ["not_in", [1], "1", true],
  ["equals", ["pro"], "pro", true],
  ["equals", ["pro"], "Pro", false],
  ["equals", ["pro"], MISSING, false],
  ["equals", [5], 5, true],
  ["equals", [5], "5", false],
  ["not_equals", ["pro"], "free", true],
  ["not_equals", ["pro"], "pro", false],
  ["not_equals", ["pro"], MISSING, false],
  ["not_equals", ["pro"], ["x"], false],
  ["starts_with", ["ab", "x"], "abc", true],
  ["starts_with", ["ab", "x"], "xyz", true],
  ["starts_with", ["ab"], "cab", false],
  ["starts_with", ["ab"], MISSING, false],
  ["starts_with", ["1"], 12, false],
  ["ends_with", ["@example.com"], "ann@example.com", true],
  ["ends_with", ["@example.com"], "ann@example.org", false],
  ["ends_with", ["@example.com"], MISSING, false],
  ["ends_with", ["1"], 21, false],
  ["contains", ["bet"], "alphabeta", true],
  ["contains", ["bet"], "alpha", false],
  ["contains", ["bet"], MISSING, false],
  ["contains", ["true"], true, false],
  ["matches", ["^user-\\d+$"], "user-42", true],
  ["matches", ["^user-\\d+$"], "user-x", false],
  ["matches", ["^user-\\d+$"], MISSING, false],
  ["matches", ["^4"], 42, false],
  ["matches", ["a"], "a".repeat(MAX_MATCH_INPUT), true],
  ["matches", ["a"], "a".repeat(MAX_MATCH_INPUT + 1), false],
  ["lt", [10], 9, true],
  ["lt", [10], 10, false],
  ["lt", [10], "9.5", true],
  ["lt", [10], "", false],
  ["lt", [10], " 9", false],
  ["lt", [10], "9abc", false],
  ["lt", [10], MISSING, false],
  ["lt", [10], true, false],
  ["lt", [10], Number.NaN, false],
  ["lt", [10, 20], 15, true],
  ["lte", [10], 10, true],
  ["lte", [10], 11, false],
  ["lte", [10], MISSING, false],
  ["gt", [10], 11, true],
  ["gt", [10], "1e2", true],
  ["gt", [10], 10, false],
  ["gt", [10], MISSING, false],
  ["gt", [10], "eleven", false],
  ["gte", [10], 10, true],
  ["gte", [10], 9, false],
  ["gte", [10], MISSING, false],
  ["gte", [10], [11], false],
  ["before", ["2026-01-01T00:00:00Z"], "2025-12-31T23:59:59Z", true],
  ["before", ["2026-01-01T00:00:00Z"], "2026-01-01T00:00:00Z", false],
  ["before", ["2026-01-01"], Date.UTC(2025, 11, 31), true],
  ["before", [Date.UTC(2026, 0, 1)], "2025-06-01", true],
  ["before", ["2026-01-01T00:00:00Z"], "2025-12-31T23:00:00", true],
  ["before", ["2026-01-01T00:00:00Z"], MISSING, false],
  ["before", ["2026-01-01T00:00:00Z"], "yesterday", false],
  ["before", ["2026-01-01T00:00:00Z"], false, false],
  ["after", ["2026-01-01T00:00:00+01:00"], "2025-12-31T23:30:00Z", true],
  ["after", ["2026-01-01T00:00:00Z"], "2025-12-31T23:30:00Z", false],
  ["after", ["2026-01-01T00:00:00Z"], MISSING, false],
  ["after", ["2026-01-01T00:00:00Z"], "Jan 2 2026", false],
  ["semver_eq", ["1.2.3"], "v1.2.3", true],
  ["semver_eq", ["1.2.3"], "1.2.3+build", true],
  ["semver_eq", ["1.2.3"], "1.2.4", false],
  ["semver_eq", ["1.2.3"], MISSING, false],
  ["semver_eq", ["1.2.3"], "1.2", false],
  ["semver_eq", ["1.2.3"], 1.2, false],
  ["semver_lt", ["2.0.0"], "2.0.0-rc.1", true],
  ["semver_lt", ["2.0.0"], "2.0.0", false],
  ["semver_lt", ["2.0.0"], MISSING, false],
  ["semver_lte", ["2.0.0"], "2.0.0", true],
  ["semver_lte", ["2.0.0"], "2.0.1", false],
  ["semver_lte", ["2.0.0"], MISSING, false],
  ["semver_gt", ["1.0.0-beta.2"], "1.0.0-beta.11", true],
  ["semver_gt", ["1.0.0-beta.2"], "1.0.0-beta", false],
  ["semver_gt", ["1.0.0"], MISSING, false],
  ["semver_gte", ["1.10.0"], "1.10.0", true],
  ["semver_gte", ["1.10.0"], "1.9.9", false],
  ["semver_gte", ["1.10.0"], MISSING, false],
  ["semver_gte", ["1.10.0"], "not.a.version", false],
  ["exists", undefined, "x", true],
  ["exists", undefined, 0, true],
  ["exists", undefined, false, true],
  ["exists", undefined, MISSING, false],
  ["exists", undefined, null, false],
  ["not_exists", undefined, MISSING, true],
  ["not_exists", undefined, null, true],
  ["not_exists", undefined, "", false],
];

describe("operators on a client attribute", () => {
  it.each(rows)("%s %j vs %j -> %s", (op, values, attr, expected) => {
    const attributes = attr === MISSING ? {} : { a: attr };
    const r = evalFlag(
      {
        rules: [{ id: "r", when: [{ attribute: "a", op, ...(values ? { values } : {}) }], serve: "on" }],
        fallthrough: "off",
      },
      { targetingKey: "u", attributes },
    );
    expect(pinned(r)).toEqual(
      expected ? bool(true, "TARGETING_MATCH", "r") : bool(false, "DEFAULT", "fallthrough"),
    );
  });

  it("covers every operator with a match, a non-match and a missing attribute", () => {
    const ops = new Set(rows.map((r) => r[0]));
    expect(ops.size).toBe(21);
    for (const op of ops) {
      const mine = rows.filter((r) => r[0] === op);
      expect(mine.some((r) => r[3])).toBe(true);
      expect(mine.some((r) => !r[3] && r[2] !== MISSING)).toBe(true);
      expect(mine.some((r) => r[2] === MISSING)).toBe(true);
    }
  });

  it("an attribute named like an Object.prototype member is not found on a plain object", () => {
    const flag = {
      rules: [{ id: "r", when: [{ attribute: "constructor", op: "exists" as const }], serve: "on" }],
      fallthrough: "off",
    };
    expect(pinned(evalFlag(flag, { attributes: {} }))).toEqual(bool(false, "DEFAULT", "fallthrough"));
    expect(pinned(evalFlag(flag, { attributes: { constructor: "x" } }))).toEqual(
      bool(true, "TARGETING_MATCH", "r"),
    );
  });
});

describe("attribute sources", () => {
  const rule = (attribute: string, values: ScalarValue[]) => ({
    rules: [{ id: "r", when: [{ attribute, op: "in" as const, values }], serve: "on" }],
    fallthrough: "off",
  });
  it.each([
    ["key", { targetingKey: "u1" }, ["u1"]],
    ["geo.country", { geo: { country: "DE" } }, ["DE"]],
    ["geo.asn", { geo: { asn: 13335 } }, [13335]],
    ["identity.role", { identity: { role: "admin" } }, ["admin"]],
    ["plan", { attributes: { plan: "pro" } }, ["pro"]],
  ])("%s reads its own source", (attribute, ctx, values) => {
    expect(pinned(evalFlag(rule(attribute, values), ctx))).toEqual(bool(true, "TARGETING_MATCH", "r"));
  });

  // Anti-spoofing: untrusted client attributes can never stand in for geo or identity.
  it.each([
    [
      "geo.country",
      { geo: { country: "US" }, attributes: { "geo.country": "DE", geo: { country: "DE" }, country: "DE" } },
    ],
    ["geo.country", { attributes: { "geo.country": "DE" } }],
    [
      "identity.role",
      { identity: { role: "user" }, attributes: { "identity.role": "admin", role: "admin" } },
    ],
    ["identity.role", { attributes: { "identity.role": "admin", identity: { role: "admin" } } }],
    ["key", { attributes: { key: "u1", targetingKey: "u1" } }],
  ])("a client attribute never affects a rule on %s", (attribute, ctx) => {
    const values = attribute === "key" ? ["u1"] : attribute === "geo.country" ? ["DE"] : ["admin"];
    expect(pinned(evalFlag(rule(attribute, values), ctx))).toEqual(bool(false, "DEFAULT", "fallthrough"));
  });

  it("a rule on a client attribute does not read geo or identity of the same name", () => {
    const ctx = { geo: { country: "DE" }, identity: { plan: "pro" } };
    expect(pinned(evalFlag(rule("country", ["DE"]), ctx))).toEqual(bool(false, "DEFAULT", "fallthrough"));
    expect(pinned(evalFlag(rule("plan", ["pro"]), ctx))).toEqual(bool(false, "DEFAULT", "fallthrough"));
  });
});
