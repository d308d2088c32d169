/**
 * The regex subset compile accepts: catastrophic patterns are refused with the construct at fault, by
 * regexHazard and by compile on a document that never went through validation (a snapshot from an
 * older publisher); everyday patterns pass. Behaviour only: no timing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompileError, compile } from "../../src/eval/index";
import { regexHazard } from "../../src/eval/regex-safety";
import type { FlagsDocument } from "../../src/flags/types";
import { CATASTROPHIC, SAFE } from "./regex-cases";

/** A document whose one rule tests `email` against `pattern`, as a snapshot could carry it. */
function withPattern(pattern: string): FlagsDocument {
  return {
    flags: {
      f: {
        rules: [{ when: [{ attribute: "email", op: "matches", values: [pattern] }], serve: "on" }],
        fallthrough: "off",
      },
    },
  };
}

function compileError(pattern: string): CompileError | undefined {
  try {
    compile(withPattern(pattern));
    return undefined;
  } catch (error) {
    if (error instanceof CompileError) return error;
    throw error;
  }
}

describe("regexHazard refuses what can backtrack catastrophically, naming the construct", () => {
  it.each(CATASTROPHIC)("%s", (pattern, construct, words) => {
    expect(() => new RegExp(pattern)).not.toThrow();
    const hazard = regexHazard(pattern);
    expect(hazard).toBeDefined();
    expect(hazard!.construct).toBe(construct);
    expect(pattern.slice(hazard!.index, hazard!.index + construct.length)).toBe(construct);
    expect(hazard!.reason).toContain(JSON.stringify(construct));
    expect(hazard!.reason).toContain(words);
  });
});

describe("regexHazard accepts everyday patterns", () => {
  it.each(SAFE)("%s", (pattern) => {
    expect(regexHazard(pattern)).toBeUndefined();
  });
});

describe("compile refuses catastrophic patterns in a document that skipped validation", () => {
  it.each(CATASTROPHIC)("%s", (pattern, construct) => {
    const error = compileError(pattern);
    expect(error?.code).toBe("UNSAFE_REGEX");
    expect(error?.path).toBe("flags.f.rules[0].when[0]");
    expect(error?.message).toContain(JSON.stringify(construct));
  });

  it.each(SAFE)("and compiles %s", (pattern) => {
    expect(compileError(pattern)).toBeUndefined();
  });

  it("refuses in segment rules too", () => {
    const doc: FlagsDocument = {
      flags: { f: { rules: [{ when: [{ segment: "s" }], serve: "on" }], fallthrough: "off" } },
      segments: { s: { rules: [{ when: [{ attribute: "a", op: "matches", values: ["^x", "(a+)+$"] }] }] } },
    };
    expect(() => compile(doc)).toThrow(expect.objectContaining({ code: "UNSAFE_REGEX" }));
  });
});

describe("regexHazard on any pattern", () => {
  const pieces = fc.constantFrom(
    ..."ab.|()[]^$*+?{}\\-,:=!<>0123dwsDbBkxuc".split(""),
    "(?:",
    "(?=",
    "(?<=",
    "(?<n>",
    "{1,3}",
    "{2,}",
    "[^a]",
    "\\d",
  );
  const patterns = fc
    .array(pieces, { maxLength: 24 })
    .map((p) => p.join(""))
    .filter((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    });

  it("never throws, and a refusal always quotes a part of the pattern", () => {
    fc.assert(
      fc.property(patterns, (pattern) => {
        const hazard = regexHazard(pattern);
        if (hazard)
          expect(pattern.slice(hazard.index, hazard.index + hazard.construct.length)).toBe(hazard.construct);
      }),
      { numRuns: 2000 },
    );
  });

  it("is what compile refuses, and nothing else", () => {
    fc.assert(
      fc.property(patterns, (pattern) => {
        expect(compileError(pattern)?.code === "UNSAFE_REGEX").toBe(regexHazard(pattern) !== undefined);
      }),
      { numRuns: 500 },
    );
  });
});
