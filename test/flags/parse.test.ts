/** Every kind of mistake is reported at the exact line and column, with a plain message. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../../src/eval/index";
import { formatProblem, loadFlagsFile, parseFlagsFile } from "../../src/flags/parse";
import { marked } from "./located";

/** A flags file whose flag `x` has the given body (indented under `x:`), plus optional extras. */
function withFlag(body: string, extra = ""): string {
  const indented = body
    .trim()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `flags:\n  x:\n${indented}\n${extra}`;
}

// [what, marked source, distinctive part of the message]
const CASES: [string, string, string][] = [
  [
    "unknown operator",
    withFlag(
      `rules:\n  - when:\n      - attribute: plan\n        op: ‸inn\n        values: [a]\n    serve: on\nfallthrough: off`,
    ),
    'unknown operator "inn"; expected one of: in, not_in, equals',
  ],
  [
    "variant of the wrong type (declared)",
    withFlag(`type: boolean\nvariants:\n  on: true\n  off: false\n  blue: ‸"blue"\nfallthrough: on`),
    'variant "blue" is a string but flag "x" is boolean',
  ],
  [
    "variants of mixed types (inferred)",
    withFlag(`variants:\n  a: 1\n  b: ‸two\n  off: 0\nfallthrough: a`),
    'variant "b" is a string but flag "x" is number',
  ],
  [
    "split weights summing to zero",
    withFlag(`fallthrough:\n  split: ‸{ on: 0, off: 0 }`),
    "split weights sum to zero",
  ],
  [
    "split weights above the maximum",
    withFlag(`fallthrough:\n  split: ‸{ on: 900000, off: 200000 }`),
    "split weights add up to 1100000",
  ],
  [
    "negative weight",
    withFlag(`fallthrough:\n  split: { on: ‸-1, off: 5 }`),
    "split weight must be a whole number >= 0",
  ],
  [
    "fractional weight",
    withFlag(`fallthrough:\n  split: { on: ‸0.5, off: 5 }`),
    "split weight must be a whole number",
  ],
  [
    "split naming a missing variant",
    withFlag(`fallthrough:\n  split: { on: 1, ‸onn: 5 }`),
    'split name "onn" is not a variant of flag "x"; its variants are: on, off',
  ],
  [
    "missing segment",
    withFlag(
      `rules:\n  - when:\n      - segment: ‸betaa\n    serve: on\nfallthrough: off`,
      "segments:\n  beta: {}\n",
    ),
    'unknown segment "betaa" (did you mean "beta"?)',
  ],
  [
    "missing prerequisite flag",
    withFlag(`prerequisites:\n  - flag: ‸nope\n    variants: [on]\nfallthrough: on`),
    'unknown flag "nope"',
  ],
  [
    "missing prerequisite variant",
    withFlag(
      `prerequisites:\n  - flag: y\n    variants: [‸yes]\nfallthrough: on`,
      "  y:\n    fallthrough: on\n",
    ),
    'flag "y" has no variant "yes"; its variants are: on, off',
  ],
  [
    "flag listing itself",
    withFlag(`prerequisites:\n  - flag: ‸x\n    variants: [on]\nfallthrough: on`),
    'flag "x" cannot be its own prerequisite',
  ],
  [
    "prerequisite cycle",
    withFlag(
      `prerequisites: [{ flag: y, variants: [on] }]\nfallthrough: on`,
      "  y:\n    prerequisites: [{ flag: ‸x, variants: [on] }]\n    fallthrough: on\n",
    ),
    "prerequisite cycle: x -> y -> x",
  ],
  [
    "missing rule variant",
    withFlag(`rules:\n  - when: []\n    serve: ‸blue\nfallthrough: on`),
    'serve "blue" is not a variant',
  ],
  [
    "missing fallthrough variant",
    withFlag(`fallthrough: ‸onn`),
    'fallthrough "onn" is not a variant of flag "x"',
  ],
  [
    "missing off variant",
    withFlag(`variants:\n  ‸red: "#f00"\n  blue: "#00f"\nfallthrough: red`),
    'flag "x" has no variant named "off": add `offVariant`',
  ],
  [
    "offVariant naming nothing",
    withFlag(`offVariant: ‸of\nfallthrough: on`),
    'offVariant "of" is not a variant',
  ],
  [
    "targets naming a missing variant",
    withFlag(`targets:\n  ‸yes: [u1]\nfallthrough: on`),
    'targets name "yes" is not a variant',
  ],
  [
    "a key targeted by two variants",
    withFlag(`targets:\n  on: [u1, u2]\n  off: [u3, ‸u1]\nfallthrough: on`),
    'targeting key "u1" is listed for both variant "on" and "off"',
  ],
  ["numeric targeting key", withFlag(`targets:\n  on: [‸123]\nfallthrough: on`), 'got 123 (quote it: "123")'],
  [
    "geo serve naming a missing variant",
    withFlag(`geo:\n  block: { countries: [DE] }\n  serve: ‸blocked\nfallthrough: on`),
    'geo serve "blocked" is not a variant',
  ],
  [
    "bad regex",
    withFlag(
      `rules:\n  - when: [{ attribute: email, op: matches, values: [‸"(a"] }]\n    serve: on\nfallthrough: off`,
    ),
    'invalid regular expression "(a": Unterminated group',
  ],
  [
    "regex too long",
    withFlag(
      `rules:\n  - when: [{ attribute: email, op: matches, values: [‸${"a".repeat(257)}] }]\n    serve: on\nfallthrough: off`,
    ),
    "the limit is 256",
  ],
  [
    "equals with two values",
    withFlag(
      `rules:\n  - when: [{ attribute: plan, op: equals, values: ‸[a, b] }]\n    serve: on\nfallthrough: off`,
    ),
    'operator "equals" takes exactly one value, got 2',
  ],
  [
    "in without values",
    withFlag(`rules:\n  - when: [‸{ attribute: plan, op: in }]\n    serve: on\nfallthrough: off`),
    'operator "in" needs at least one value',
  ],
  [
    "exists with values",
    withFlag(
      `rules:\n  - when: [{ attribute: plan, op: exists, values: ‸[a] }]\n    serve: on\nfallthrough: off`,
    ),
    'operator "exists" takes no values',
  ],
  [
    "numeric operator with a string",
    withFlag(
      `rules:\n  - when: [{ attribute: age, op: gte, values: [‸eighteen] }]\n    serve: on\nfallthrough: off`,
    ),
    'operator "gte" compares numbers; "eighteen" is not a number',
  ],
  [
    "bad date for before",
    withFlag(
      `rules:\n  - when: [{ attribute: signup, op: before, values: [‸"2025-13-01"] }]\n    serve: on\nfallthrough: off`,
    ),
    'operator "before": "2025-13-01" is not a real date',
  ],
  [
    "bad semantic version",
    withFlag(
      `rules:\n  - when: [{ attribute: app, op: semver_gte, values: [‸"1.2"] }]\n    serve: on\nfallthrough: off`,
    ),
    '"1.2" is not a semantic version',
  ],
  [
    "unknown geo field",
    withFlag(
      `rules:\n  - when: [{ attribute: ‸geo.contry, op: in, values: [DE] }]\n    serve: on\nfallthrough: off`,
    ),
    'unknown geo field "contry" (did you mean "country"?)',
  ],
  [
    "bad time zone",
    withFlag(
      `schedule:\n  timezone: ‸Europe/Berlinn\n  windows: [{ days: [mon], start: "09:00", end: "17:00" }]\nfallthrough: on`,
    ),
    'unknown time zone "Europe/Berlinn"',
  ],
  [
    "empty window",
    withFlag(
      `schedule:\n  windows:\n    - days: [mon]\n      start: "17:00"\n      end: ‸"17:00"\nfallthrough: on`,
    ),
    'window end "17:00" equals its start "17:00": the window is empty',
  ],
  [
    "bad window time",
    withFlag(
      `schedule:\n  windows:\n    - days: [mon]\n      start: ‸"9:00"\n      end: "17:00"\nfallthrough: on`,
    ),
    'start time "9:00" must look like "HH:MM"',
  ],
  [
    "unknown day",
    withFlag(`schedule:\n  windows: [{ days: [mon, ‸tues], start: "09:00", end: "17:00" }]\nfallthrough: on`),
    'unknown day "tues"',
  ],
  [
    "schedule until before from",
    withFlag(`schedule:\n  from: "2026-02-01"\n  until: ‸"2026-01-01"\nfallthrough: on`),
    "until (2026-01-01) must be after from (2026-02-01)",
  ],
  [
    "schedule time without offset",
    withFlag(`schedule:\n  from: ‸"2026-02-01T10:00"\nfallthrough: on`),
    'has no time zone: add "Z"',
  ],
  [
    "rollout steps out of order",
    withFlag(
      `fallthrough:\n  split: { on: 1, off: 9 }\n  steps:\n    - { at: "2026-02-01T00:00:00Z", split: { on: 5, off: 5 } }\n    - { at: ‸"2026-01-01T00:00:00Z", split: { on: 9, off: 1 } }`,
    ),
    "step times must increase",
  ],
  [
    "bad country code",
    withFlag(`geo:\n  block: { countries: [‸de] }\nfallthrough: on`),
    'country code "de" must look like two upper-case letters',
  ],
  [
    "unknown continent",
    withFlag(`geo:\n  allow: { continents: [‸EUR] }\nfallthrough: on`),
    'unknown continent "EUR"; expected one of: AF, AN, AS, EU',
  ],
  [
    "bad region",
    withFlag(`geo:\n  block: { regions: [‸CA] }\nfallthrough: on`),
    'region "CA" must look like "<country>-<code>"',
  ],
  [
    "empty geo list",
    withFlag(`geo:\n  block: ‸{ countries: [] }\nfallthrough: on`),
    "geo block lists no countries",
  ],
  [
    "bad expires date",
    withFlag(`expires: ‸"2026-02-30"\nfallthrough: on`),
    'expires: "2026-02-30" is not a real date',
  ],
  [
    "expires not a date",
    withFlag(`expires: ‸next week\nfallthrough: on`),
    'expires "next week" must look like a date YYYY-MM-DD',
  ],
  [
    "unknown field",
    withFlag(`‸varaints: { a: 1 }\nfallthrough: on`),
    'unknown field "varaints" (did you mean "variants"?)',
  ],
  [
    "unknown kind",
    withFlag(`kind: ‸feature\nfallthrough: on`),
    'unknown kind "feature"; expected one of: release, ops',
  ],
  [
    "missing fallthrough",
    `flags:\n  ‸x:\n    description: nothing to serve\n`,
    'flag is missing required field "fallthrough"',
  ],
  ["missing flags map", `‸segments: {}\n`, 'the flags file is missing required field "flags"'],
  ["bad flag name", `flags:\n  ‸"-x": { fallthrough: on }\n`, 'invalid flag name "-x"'],
  ["flag that is a list", `flags:\n  x: ‸[on, off]\n`, "flag must be a map of fields, got a list"],
  ["enabled not a boolean", withFlag(`enabled: ‸"yes"\nfallthrough: on`), "enabled must be true or false"],
  [
    "duplicate rule id",
    withFlag(
      `rules:\n  - { id: r, when: [], serve: on }\n  - { id: ‸r, when: [], serve: off }\nfallthrough: on`,
    ),
    'rule id "r" is already used by rule 0',
  ],
  [
    "key both included and excluded",
    `flags:\n  x: { fallthrough: on }\nsegments:\n  beta:\n    included: [u1]\n    excluded: [‸u1]\n`,
    'key "u1" is both included in and excluded from segment "beta"',
  ],
  ["duplicate key", `flags:\n  x: { fallthrough: on }\n  ‸x: { fallthrough: off }\n`, 'duplicate key "x"'],
  [
    "duplicate key in JSON",
    `{"flags": {"x": {"fallthrough": "on", ‸"fallthrough": "off"}}}`,
    'duplicate key "fallthrough"',
  ],
  ["YAML syntax error", `flags:\n  x: { fallthrough: on\n‸`, "YAML syntax error"],
  ["unresolved alias", `flags:\n  x: ‸*missing\n`, 'unknown alias "*missing"'],
  ["empty file", `‸`, 'the flags file is empty: it needs a "flags" map'],
];

describe("parseFlagsFile reports each mistake where it is", () => {
  it.each(CASES)("%s", (_, source, message) => {
    const { text, line, column } = marked(source);
    const { document, problems } = parseFlagsFile(text, "flags.yaml");
    expect(document).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "flags.yaml", line, column });
    expect(problems[0]!.message).toContain(message);
  });
});

describe("parseFlagsFile", () => {
  it("reports every one of several distinct mistakes, sorted by position", () => {
    const text = [
      "flags:", // 1
      "  a:", // 2
      "    varaints: { x: 1 }", // 3 unknown field
      "    fallthrough: onn", // 4 missing variant
      "    rules:", // 5
      "      - when: [{ attribute: plan, op: inn, values: [x] }]", // 6 unknown operator
      "        serve: { split: { on: 0, off: 0 } }", // 7 weights sum to zero
      "  b:", // 8
      "    schedule: { timezone: Mars/Olympus }", // 9 bad time zone
      "    geo: { block: { countries: [usa] } }", // 10 bad country
      "    prerequisites: [{ flag: zz, variants: [on] }]", // 11 missing flag
      "    fallthrough: on", // 12
      "  b: { fallthrough: on }", // 13 duplicate key
    ].join("\n");
    const { problems } = parseFlagsFile(text, "f.yaml");
    expect(problems.map((p) => p.line)).toEqual([3, 4, 6, 7, 9, 10, 11, 13]);
    expect(problems.map(formatProblem)[0]).toBe(
      'f.yaml:3:5: unknown field "varaints" (did you mean "variants"?)',
    );
  });

  it("validates the demo file with no problems", () => {
    const { document, problems } = loadFlagsFile("examples/demo.flags.yaml");
    expect(problems).toEqual([]);
    expect(document?.flags["demo-flag"]).toMatchObject({ clientVisible: true, fallthrough: "on" });
    expect(Object.keys(document?.flags ?? {}).length).toBeGreaterThanOrEqual(6);
    expect(() => compile(document!)).not.toThrow();
  });

  it("reads the JSON form of a document exactly like its YAML form", () => {
    const yaml = loadFlagsFile("examples/demo.flags.yaml").document!;
    const json = parseFlagsFile(JSON.stringify(yaml, null, 2), "demo.flags.json");
    expect(json.problems).toEqual([]);
    expect(json.document).toEqual(yaml);
  });

  it("reports the same problems for a broken document in JSON and in YAML", () => {
    const source = readFileSync("examples/demo.flags.yaml", "utf8")
      .replace("op: semver_gte", "op: semver_gtee")
      .replace("fallthrough: default", "fallthrough: defualt")
      .replace("countries: [CN, RU, KP]", "countries: [CN, ru, KP]");
    const fromYaml = parseFlagsFile(source, "f.yaml");
    const asJson = JSON.stringify(parseYamlLoosely(source));
    const fromJson = parseFlagsFile(asJson, "f.json");
    const strip = (ps: typeof fromYaml.problems) =>
      ps.map((p) => ({ path: p.path, message: p.message })).sort(byPath);
    expect(fromYaml.problems).toHaveLength(3);
    expect(strip(fromJson.problems)).toEqual(strip(fromYaml.problems));
    // JSON is one line: every problem is on line 1, at a distinct column.
    expect(new Set(fromJson.problems.map((p) => p.column)).size).toBe(3);
  });

  it("formats problems as file:line:column: message", () => {
    expect(formatProblem({ file: "flags.yaml", line: 12, column: 7, path: [], message: "boom" })).toBe(
      "flags.yaml:12:7: boom",
    );
  });
});

import { parse as parseYaml } from "yaml";

function parseYamlLoosely(text: string): unknown {
  return parseYaml(text);
}

function byPath(a: { path: unknown[] }, b: { path: unknown[] }): number {
  return JSON.stringify(a.path).localeCompare(JSON.stringify(b.path));
}

describe("docs/flags-file.md", () => {
  it("its worked example validates with no problems", () => {
    const docs = readFileSync("docs/flags-file.md", "utf8");
    const example = /```yaml\n(# yaml-language-server[\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    const { document, problems } = parseFlagsFile(example!, "docs/flags-file.md");
    expect(problems).toEqual([]);
    expect(Object.keys(document!.flags)).toHaveLength(6);
  });
});

describe("schedule windows", () => {
  it.each([
    ["an overnight window (end before start)", "22:00", "02:00"],
    ["a whole day", "00:00", "24:00"],
  ])("accepts %s", (_what, start, end) => {
    const text = `flags:\n  f:\n    schedule:\n      windows: [{ days: [fri], start: "${start}", end: "${end}" }]\n    fallthrough: on\n`;
    const { document, problems } = parseFlagsFile(text, "w.yaml");
    expect(problems).toEqual([]);
    expect(() => compile(document!)).not.toThrow();
  });
});
