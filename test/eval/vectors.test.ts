import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile, evaluate } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import type { FlagsDocument, FlagType } from "../../src/flags/types";
import { type Expected, pinned } from "./helpers";
import { ownVector } from "./vectors-path";

interface VectorCase {
  name: string;
  document: FlagsDocument;
  context: EvaluationContext;
  now: string;
  key: string;
  expectedType?: FlagType;
  expected: Partial<Expected>;
}

const { cases } = JSON.parse(readFileSync(ownVector("evaluation.json"), "utf8")) as { cases: VectorCase[] };

describe("engine vectors: test/vectors/evaluation.json", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(30));
  it.each(cases)("$name", (c) => {
    const r = evaluate(compile(c.document), c.key, c.context, Date.parse(c.now), c.expectedType);
    const { value, variant, reason, ruleId, errorCode } = c.expected;
    expect(pinned(r)).toEqual({ value, variant, reason, ruleId, errorCode });
    expect(r.key).toBe(c.key);
  });
});
