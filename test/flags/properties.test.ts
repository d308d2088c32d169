/**
 * Property tests of the flags-file layer: valid documents survive YAML and JSON round trips with no
 * problems; arbitrary text or data never makes the parser or the validator throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { compile } from "../../src/eval/index";
import { parseFlagsFile } from "../../src/flags/parse";
import { checkShape } from "../../src/flags/shape.generated";
import type {
  Condition,
  FlagDefinition,
  FlagsDocument,
  JsonValue,
  ScalarValue,
  Split,
} from "../../src/flags/types";
import { validateDocument } from "../../src/flags/validate";

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,12}$/);
const text = fc.string({ maxLength: 12 });

/** Values of one flag type, keyed by the type. */
const valuesOf: Record<string, fc.Arbitrary<JsonValue>> = {
  boolean: fc.boolean(),
  string: text,
  // JSON has no -0 (JSON.stringify(-0) is "0"), so the JSON round trip could not preserve it.
  number: fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
  json: fc.oneof(
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(name, text, { maxKeys: 3 }),
  ),
};

const condition = (segments: string[]): fc.Arbitrary<Condition> =>
  fc.oneof(
    fc.record({
      attribute: fc.constantFrom("key", "plan", "geo.country", "identity.role"),
      op: fc.constantFrom("in" as const, "not_in" as const),
      values: fc.array(fc.oneof(text, fc.integer(), fc.boolean()), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ attribute: name, op: fc.constantFrom("exists" as const, "not_exists" as const) }),
    fc.record({
      attribute: fc.constantFrom("age", "geo.asn"),
      op: fc.constantFrom("lt" as const, "gte" as const),
      values: fc.tuple(fc.integer()),
    }),
    fc.record({
      attribute: fc.constant("app"),
      op: fc.constant("semver_gte" as const),
      values: fc.constant<ScalarValue[]>(["1.2.3"]),
    }),
    fc.record({
      attribute: fc.constant("email"),
      op: fc.constant("matches" as const),
      values: fc.constant<ScalarValue[]>(["^[a-z]+$"]),
    }),
    ...(segments.length
      ? [
          fc.record(
            { segment: fc.constantFrom(...segments), negate: fc.boolean() },
            { requiredKeys: ["segment"] },
          ),
        ]
      : []),
  );

const split = (variants: string[]): fc.Arbitrary<Split> =>
  fc
    .tuple(
      fc.array(fc.nat(1000), { minLength: variants.length, maxLength: variants.length }),
      fc.nat(variants.length - 1),
      fc.boolean(),
    )
    .map(([weights, bump, asList]) => {
      const entries = variants.map((variant, i) => ({ variant, weight: weights[i]! + (i === bump ? 1 : 0) }));
      // Both forms: a map of weights, or a list of entries (the form that keeps any order).
      return {
        split: asList
          ? entries.reverse()
          : Object.fromEntries(entries.map(({ variant, weight }) => [variant, weight])),
      };
    });

function flag(segments: string[]): fc.Arbitrary<FlagDefinition> {
  return fc.constantFrom("default", "boolean", "string", "number", "json").chain((type) => {
    const variants: fc.Arbitrary<Record<string, JsonValue> | undefined> =
      type === "default"
        ? fc.constant(undefined)
        : fc.dictionary(name, valuesOf[type]!, { minKeys: 1, maxKeys: 4 });
    return variants.chain((vs) => {
      const names = Object.keys(vs ?? { on: true, off: false });
      const variant = fc.constantFrom(...names);
      const serve = fc.oneof(variant, split(names));
      return fc
        .record(
          {
            description: text,
            clientVisible: fc.boolean(),
            enabled: fc.boolean(),
            rules: fc.array(fc.record({ when: fc.array(condition(segments), { maxLength: 3 }), serve }), {
              maxLength: 3,
            }),
            targets: fc.constant<Record<string, string[]>>({ [names[0]!]: ["user-1", "user-2"] }),
            fallthrough: serve,
          },
          { requiredKeys: ["fallthrough"] },
        )
        .map((f) => {
          const out: FlagDefinition = { ...f };
          if (vs) {
            out.variants = vs;
            out.offVariant = names[0]!;
          }
          // Rule ids default to rule-<index>; they are unique by construction.
          return out;
        });
    });
  });
}

const documentArb: fc.Arbitrary<FlagsDocument> = fc
  .uniqueArray(name, { maxLength: 3 })
  .chain((segmentNames) =>
    fc.record({
      flags: fc.dictionary(name, flag(segmentNames), { maxKeys: 5 }),
      segments: fc.constant(Object.fromEntries(segmentNames.map((s) => [s, { included: ["user-1"] }]))),
    }),
  );

describe("flags-file properties", () => {
  it("a valid document round-trips through YAML and JSON with no problems", () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        expect(validateDocument(doc)).toEqual({ ok: true, document: doc });
        // ...on the fast path: valibot itself only runs for documents with a problem.
        expect(checkShape(doc)).toBeUndefined();
        // What the validator accepts, the engine's compile accepts too.
        expect(() => compile(doc)).not.toThrow();
        for (const source of [stringify(doc), JSON.stringify(doc, null, 2), JSON.stringify(doc)]) {
          const { document, problems } = parseFlagsFile(source, "f");
          expect(problems).toEqual([]);
          expect(document).toEqual(doc);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("arbitrary text never throws; problems are located inside the text", () => {
    const yamlish = fc.string({ unit: fc.constantFrom(..."abc:-[]{}\"'#&*!|>? \n\t,0.1"), maxLength: 80 });
    fc.assert(
      fc.property(fc.oneof(fc.string(), yamlish), (source) => {
        const { document, problems } = parseFlagsFile(source, "f");
        expect(document === undefined).toBe(problems.length > 0);
        const lines = source.split("\n").length;
        for (const p of problems) {
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(lines);
          expect(p.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("arbitrary data never throws the validator", () => {
    const anything = fc.anything({ maxDepth: 4, withNullPrototype: true, withObjectString: true });
    const shaped = fc.record({
      flags: fc.dictionary(
        name,
        fc.dictionary(
          fc.constantFrom(
            "variants",
            "rules",
            "fallthrough",
            "targets",
            "geo",
            "schedule",
            "prerequisites",
            "offVariant",
            "type",
          ),
          anything,
        ),
      ),
      segments: anything,
    });
    fc.assert(
      fc.property(fc.oneof(anything, shaped), (input) => {
        const result = validateDocument(input);
        if (!result.ok) for (const p of result.problems) expect(typeof p.message).toBe("string");
      }),
      { numRuns: 500 },
    );
  });
});
