import { describe, expect, it } from "vitest";
import { CompileError, type CompileErrorCode, compile } from "../../src/eval/index";
import type { FlagsDocument } from "../../src/flags/types";

/** A flag whose one rule tests `attribute` (with a value every operator-free check accepts). */
function ruleOn(attribute: string): FlagsDocument {
  return {
    flags: {
      f: { rules: [{ when: [{ attribute, op: "in", values: ["x"] }], serve: "on" }], fallthrough: "off" },
    },
  };
}

describe("compile refuses structurally impossible documents with a stable code", () => {
  const rows: [string, FlagsDocument, CompileErrorCode][] = [
    ["unknown fallthrough variant", { flags: { f: { fallthrough: "maybe" } } }, "UNKNOWN_VARIANT"],
    [
      "disabled without an off variant",
      { flags: { f: { enabled: false, variants: { a: 1 }, fallthrough: "a" } } },
      "UNKNOWN_VARIANT",
    ],
    [
      "unknown split variant",
      { flags: { f: { fallthrough: { split: { on: 1, nope: 1 } } } } },
      "UNKNOWN_VARIANT",
    ],
    [
      "split with zero total",
      { flags: { f: { fallthrough: { split: { on: 0, off: 0 } } } } },
      "INVALID_SPLIT",
    ],
    [
      "split with fractional weight",
      { flags: { f: { fallthrough: { split: { on: 0.5, off: 1 } } } } },
      "INVALID_SPLIT",
    ],
    [
      "unknown segment",
      { flags: { f: { rules: [{ when: [{ segment: "ghost" }], serve: "on" }], fallthrough: "off" } } },
      "UNKNOWN_SEGMENT",
    ],
    [
      "unknown prerequisite",
      { flags: { f: { prerequisites: [{ flag: "ghost", variants: ["on"] }], fallthrough: "on" } } },
      "UNKNOWN_PREREQUISITE",
    ],
    [
      "prerequisite cycle",
      {
        flags: {
          a: { prerequisites: [{ flag: "b", variants: ["on"] }], fallthrough: "on" },
          b: { prerequisites: [{ flag: "a", variants: ["on"] }], fallthrough: "on" },
        },
      },
      "PREREQUISITE_CYCLE",
    ],
    [
      "self prerequisite",
      { flags: { a: { prerequisites: [{ flag: "a", variants: ["on"] }], fallthrough: "on" } } },
      "PREREQUISITE_CYCLE",
    ],
    [
      "unknown operator",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "like" as "in", values: ["x"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "UNKNOWN_OPERATOR",
    ],
    [
      "in without values",
      {
        flags: { f: { rules: [{ when: [{ attribute: "a", op: "in" }], serve: "on" }], fallthrough: "off" } },
      },
      "INVALID_VALUES",
    ],
    [
      "bad regex",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "matches", values: ["("] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "INVALID_REGEX",
    ],
    [
      "a regex longer than the validator allows",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "matches", values: ["a".repeat(257)] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "INVALID_REGEX",
    ],
    [
      "non-numeric lt",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "lt", values: ["ten"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "INVALID_VALUES",
    ],
    [
      "bad date",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "before", values: ["soon"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "INVALID_DATE",
    ],
    [
      "bad semver",
      {
        flags: {
          f: {
            rules: [{ when: [{ attribute: "a", op: "semver_gt", values: ["1.2"] }], serve: "on" }],
            fallthrough: "off",
          },
        },
      },
      "INVALID_SEMVER",
    ],
    [
      "bad time zone",
      { flags: { f: { schedule: { timezone: "Mars/Olympus", windows: [] }, fallthrough: "on" } } },
      "INVALID_TIMEZONE",
    ],
    [
      "instant without offset",
      { flags: { f: { schedule: { from: "2026-01-01T10:00:00" }, fallthrough: "on" } } },
      "INVALID_DATE",
    ],
    [
      "bad window time",
      {
        flags: {
          f: { schedule: { windows: [{ days: ["mon"], start: "9:00", end: "10:00" }] }, fallthrough: "on" },
        },
      },
      "INVALID_WINDOW",
    ],
    ["bare geo attribute", ruleOn("geo"), "INVALID_ATTRIBUTE"],
    ["bare identity attribute", ruleOn("identity"), "INVALID_ATTRIBUTE"],
    ["unknown geo field", ruleOn("geo.contry"), "INVALID_ATTRIBUTE"],
    ["geo field inherited from Object.prototype", ruleOn("geo.constructor"), "INVALID_ATTRIBUTE"],
    ["identity without a claim", ruleOn("identity."), "INVALID_ATTRIBUTE"],
    ["empty attribute", ruleOn(""), "INVALID_ATTRIBUTE"],
    ["attribute that is not a string", ruleOn(5 as unknown as string), "INVALID_ATTRIBUTE"],
    [
      "split by bare geo",
      { flags: { f: { fallthrough: { split: { on: 1, off: 1 }, by: "geo" } } } },
      "INVALID_ATTRIBUTE",
    ],
    [
      "segment rule on bare identity",
      {
        flags: { f: { fallthrough: "on" } },
        segments: { s: { rules: [{ when: [{ attribute: "identity", op: "exists" }] }] } },
      },
      "INVALID_ATTRIBUTE",
    ],
    [
      "mixed variant types",
      { flags: { f: { variants: { a: 1, b: "2" }, fallthrough: "a" } } },
      "INVALID_TYPE",
    ],
  ];
  it.each(rows)("%s -> %s", (_name, doc, code) => {
    let caught: unknown;
    try {
      compile(doc);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CompileError);
    expect((caught as CompileError).code).toBe(code);
    expect((caught as CompileError).path).toMatch(/^(flags|segments)\./);
  });

  it("refuses a namespace-like attribute where it is used, so a client attribute cannot stand in", () => {
    const pathOf = (doc: FlagsDocument) => {
      try {
        compile(doc);
      } catch (e) {
        return (e as CompileError).path;
      }
      return undefined;
    };
    expect(pathOf(ruleOn("geo"))).toBe("flags.f.rules[0].when[0]");
    expect(pathOf({ flags: { f: { fallthrough: { split: { on: 1, off: 1 }, by: "identity." } } } })).toBe(
      "flags.f.fallthrough.by",
    );
    // Every geo field, any claim and client attributes that merely start like a namespace compile.
    for (const attribute of [
      "geo.country",
      "geo.isEU",
      "geo.colo",
      "identity.email",
      "identity.x.y",
      "geography",
      "identity_role",
      "geo_country",
    ]) {
      expect(() => compile(ruleOn(attribute))).not.toThrow();
    }
  });

  it("compiles a document with every feature", () => {
    const c = compile({
      flags: {
        f: {
          enabled: true,
          schedule: {
            from: "2026-01-01",
            timezone: "Asia/Tokyo",
            windows: [{ days: ["mon"], start: "00:00", end: "24:00" }],
          },
          prerequisites: [{ flag: "g", variants: ["on"] }],
          geo: { allow: { countries: ["JP"], continents: ["AS"], regions: ["JP-13"] }, serve: "off" },
          targets: { on: ["a"] },
          rules: [{ when: [{ segment: "s", negate: true }], serve: { split: { on: 1, off: 3 }, salt: "x" } }],
          fallthrough: {
            split: { on: 1, off: 1 },
            steps: [{ at: "2026-02-01T00:00:00Z", split: { on: 2, off: 1 } }],
          },
        },
        g: { fallthrough: "on" },
      },
      segments: {
        s: { included: ["a"], excluded: ["b"], rules: [{ when: [{ attribute: "geo.city", op: "exists" }] }] },
      },
    });
    expect(c.keys).toEqual(["f", "g"]);
    expect(c.has("f")).toBe(true);
    expect(c.has("h")).toBe(false);
  });
});
