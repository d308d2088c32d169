/**
 * The explain interpreter (src/explain) against the engine (src/eval): for any document, context and
 * moment, the explained result - value, variant, reason, ruleId, errorCode - is exactly what the
 * compiled engine evaluates, flag by flag and for every flag at once.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, evaluate, evaluateAll } from "../../src/eval/index";
import type { EvaluationResult } from "../../src/eval/types";
import { explainAll, explainFlag } from "../../src/explain/index";
import type { ExplainedResult } from "../../src/explain/trace";
import { contextArb, documentArb, nowArb } from "./arbitraries";

const pin = (r: EvaluationResult | ExplainedResult) => ({
  value: r.value,
  variant: r.variant,
  reason: r.reason,
  ruleId: r.ruleId,
  errorCode: r.errorCode,
  type: r.type,
});

describe("explain agrees with the engine", () => {
  it("for arbitrary documents, contexts, geo and moments", () => {
    fc.assert(
      fc.property(
        documentArb,
        fc.array(contextArb, { minLength: 1, maxLength: 3 }),
        nowArb,
        (doc, contexts, now) => {
          const compiled = compile(doc);
          for (const ctx of contexts) {
            const all = evaluateAll(compiled, ctx, now);
            const traces = explainAll(doc, ctx, now);
            expect(traces.map((t) => t.key)).toEqual(compiled.keys);
            for (const [i, r] of all.entries()) {
              expect(pin(traces[i]!.result)).toEqual(pin(r));
              expect(pin(explainFlag(doc, r.key, ctx, now).result)).toEqual(
                pin(evaluate(compiled, r.key, ctx, now)),
              );
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
    // Generous: the whole suite runs on two shared cores.
  }, 60_000);

  it("an unknown flag is FLAG_NOT_FOUND in both", () => {
    const doc = { flags: { a: { fallthrough: "on" } } };
    const t = explainFlag(doc, "nope", {}, 0);
    expect(pin(t.result)).toEqual(pin(evaluate(compile(doc), "nope", {}, 0)));
    expect(t.steps).toEqual([{ step: "flag", found: false }]);
  });
});
