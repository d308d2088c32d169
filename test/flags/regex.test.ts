/**
 * `matches` patterns at validate time: every pattern compile would refuse is refused at its line and
 * column with the construct at fault, recheck refuses what is subtler (an unanchored quadratic search),
 * and everyday patterns validate and compile.
 */
import { describe, expect, it } from "vitest";
import { compile } from "../../src/eval/index";
import { parseFlagsFile } from "../../src/flags/parse";
import { CATASTROPHIC, SAFE } from "../eval/regex-cases";
import { marked } from "./located";

/** A file whose rule on line 7 tests `email` against `pattern` (a single-quoted YAML scalar at the mark). */
function fileWith(pattern: string): string {
  return [
    "flags:",
    "  checkout:",
    "    rules:",
    "      - when:",
    "          - attribute: email",
    "            op: matches",
    `            values: [^x$, ‸'${pattern.replaceAll("'", "''")}']`,
    "        serve: on",
    "    fallthrough: off",
    "",
  ].join("\n");
}

describe("validation refuses what compile refuses, at file:line:column, naming the construct", () => {
  it.each(CATASTROPHIC)("%s", (pattern, construct) => {
    const { text, line, column } = marked(fileWith(pattern));
    const { document, problems } = parseFlagsFile(text, "flags.yaml");
    expect(document).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "flags.yaml", line, column });
    expect(problems[0]!.message).toContain(`unsafe regular expression ${JSON.stringify(pattern)}`);
    expect(problems[0]!.message).toContain(JSON.stringify(construct));
  });
});

describe("validation refuses, through recheck, patterns compile lets through", () => {
  it.each([
    ["\\d+$", "2nd degree polynomial"],
    ["[a-z]+@", "2nd degree polynomial"],
    ["\\s*,", "2nd degree polynomial"],
  ])("%s", (pattern, complexity) => {
    // The worker would compile it: its quadratic search is bounded by the 1,024-character input cap.
    const rule = { when: [{ attribute: "email", op: "matches" as const, values: [pattern] }], serve: "on" };
    expect(() => compile({ flags: { f: { rules: [rule], fallthrough: "off" } } })).not.toThrow();
    const { text, line, column } = marked(fileWith(pattern));
    const { problems } = parseFlagsFile(text, "flags.yaml");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line, column });
    expect(problems[0]!.message).toContain(`unsafe regular expression ${JSON.stringify(pattern)}`);
    expect(problems[0]!.message).toContain(complexity);
    expect(problems[0]!.message).toContain('anchor it with "^"');
  });
});

describe("everyday patterns validate and compile", () => {
  it.each(SAFE)("%s", (pattern) => {
    const { text } = marked(fileWith(pattern));
    const { document, problems } = parseFlagsFile(text, "flags.yaml");
    expect(problems).toEqual([]);
    expect(() => compile(document!)).not.toThrow();
  });
});
