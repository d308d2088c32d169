/**
 * The flags-file reader keeps the written order of split weights: a split whose names a JavaScript
 * object would reorder comes out as a list of entries; others stay maps. And the list form itself is
 * validated with located problems.
 */
import { describe, expect, it } from "vitest";
import { parseFlagsFile } from "../../src/flags/parse";
import type { FlagsDocument } from "../../src/flags/types";
import { validateDocument } from "../../src/flags/validate";

const entries = (...pairs: [string, number][]) => pairs.map(([variant, weight]) => ({ variant, weight }));

function read(text: string, file = "f.yaml"): FlagsDocument {
  const { document, problems } = parseFlagsFile(text, file);
  expect(problems).toEqual([]);
  return document!;
}

describe("parseFlagsFile keeps the written order of splits", () => {
  it("leaves a split a map when a map keeps its order (the common case)", () => {
    const doc = read("flags:\n  f:\n    fallthrough: { split: { on: 25, off: 75 } }\n");
    expect(doc.flags.f!.fallthrough).toEqual({ split: { on: 25, off: 75 } });
    expect(Object.keys((doc.flags.f!.fallthrough as { split: object }).split)).toEqual(["on", "off"]);
  });

  it("leaves a map whose integer-like names are already ascending", () => {
    const doc = read(
      'flags:\n  f:\n    variants: { "1": a, "2": b, x: c }\n    offVariant: "1"\n    fallthrough: { split: { "1": 1, "2": 1, x: 1 } }\n',
    );
    expect(doc.flags.f!.fallthrough).toEqual({ split: { "1": 1, "2": 1, x: 1 } });
  });

  it.each([
    ["YAML, quoted keys", 'split: { "10": 1, "2": 3 }'],
    ["YAML, unquoted keys", "split: { 10: 1, 2: 3 }"],
    ["YAML, block map", "split:\n        10: 1\n        2: 3"],
  ])("turns a reordered split into a list in written order (%s)", (_what, split) => {
    const text = `flags:\n  f:\n    variants: { "2": a, "10": b }\n    offVariant: "2"\n    fallthrough:\n      ${split}\n`;
    expect(read(text).flags.f!.fallthrough).toEqual({ split: entries(["10", 1], ["2", 3]) });
  });

  it("does the same for JSON, in rules, rollout steps and aliased maps", () => {
    const json =
      '{"flags": {"f": {"variants": {"2": "a", "10": "b", "x": "c"}, "offVariant": "x",' +
      ' "rules": [{"when": [], "serve": {"split": {"x": 1, "10": 2, "2": 3}, "by": "org"}}],' +
      ' "fallthrough": {"split": {"10": 1, "2": 1}, "steps": [{"at": "2030-01-01T00:00:00Z", "split": {"x": 0, "10": 5}}]}}}}';
    expect(read(json, "f.json").flags.f).toEqual({
      variants: { "2": "a", "10": "b", x: "c" },
      offVariant: "x",
      rules: [{ when: [], serve: { split: entries(["x", 1], ["10", 2], ["2", 3]), by: "org" } }],
      fallthrough: {
        split: entries(["10", 1], ["2", 1]),
        steps: [{ at: "2030-01-01T00:00:00Z", split: entries(["x", 0], ["10", 5]) }],
      },
    });
    const aliased = [
      "flags:",
      "  f:",
      '    variants: { "2": a, "10": b }',
      '    offVariant: "2"',
      "    rules:",
      '      - { when: [], serve: &s { split: &w { "10": 1, "2": 1 } } }',
      "      - { when: [], serve: *s }",
      "    fallthrough: { split: *w }",
      "",
    ].join("\n");
    const f = read(aliased).flags.f!;
    expect(f.rules!.map((r) => r.serve)).toEqual([
      { split: entries(["10", 1], ["2", 1]) },
      { split: entries(["10", 1], ["2", 1]) },
    ]);
    expect(f.fallthrough).toEqual({ split: entries(["10", 1], ["2", 1]) });
  });

  it("accepts the list form as written", () => {
    const text =
      'flags:\n  f:\n    fallthrough:\n      split:\n        - { variant: off, weight: 3 }\n        - { variant: "on", weight: 1 }\n';
    expect(read(text).flags.f!.fallthrough).toEqual({ split: entries(["off", 3], ["on", 1]) });
  });
});

describe("validation of the list form", () => {
  const problemsOf = (split: unknown) => {
    const r = validateDocument({ flags: { f: { fallthrough: { split } } } });
    return r.ok ? [] : r.problems.map((p) => [p.path.join("."), p.message]);
  };

  it.each<[string, unknown, [string, string][]]>([
    [
      "a variant listed twice",
      entries(["on", 1], ["on", 2]),
      [["flags.f.fallthrough.split.1.variant", 'split lists variant "on" more than once']],
    ],
    [
      "an unknown variant",
      entries(["on", 1], ["maybe", 1]),
      [
        [
          "flags.f.fallthrough.split.1.variant",
          'split name "maybe" is not a variant of flag "f"; its variants are: on, off',
        ],
      ],
    ],
    [
      "weights summing to zero",
      entries(["on", 0]),
      [
        [
          "flags.f.fallthrough.split",
          "split weights sum to zero: give at least one variant a weight above 0",
        ],
      ],
    ],
    [
      "a negative weight",
      entries(["on", -1]),
      [["flags.f.fallthrough.split.0.weight", "split weight must be a whole number >= 0, got -1"]],
    ],
    [
      "an entry with a stray field",
      [{ variant: "on", weight: 1, share: 2 }],
      [["flags.f.fallthrough.split.0.share", 'unknown field "share"; expected one of: variant, weight']],
    ],
    [
      "neither a map nor a list",
      "on",
      [
        [
          "flags.f.fallthrough.split",
          'split must map variant names to weights (like { on: 25, off: 75 }) or list { variant, weight } entries, got "on"',
        ],
      ],
    ],
  ])("reports %s at its place", (_what, split, expected) => {
    expect(problemsOf(split)).toEqual(expected);
  });

  it("places list-form problems at their line in the file", () => {
    const text =
      "flags:\n  f:\n    fallthrough:\n      split:\n        - { variant: on, weight: 1 }\n        - { variant: on, weight: 1 }\n";
    const { problems } = parseFlagsFile(text, "f.yaml");
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [6, 'split lists variant "on" more than once'],
    ]);
  });
});
