/**
 * Split order: a split serves the first variant, in the order written, whose cumulative weight exceeds
 * the bucket - for every variant name, including names a JavaScript object would reorder ("10", "2").
 * Pinned against flagd's `fractional` and the bucketing algorithm, through the whole path a flags file
 * takes: parse (YAML or JSON) -> snapshotPayload -> signed JSON -> verifySnapshot (JSON.parse, shape
 * check, compile) -> evaluate.
 */
import { readFileSync } from "node:fs";
import { FlagdCore } from "@openfeature/flagd-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assign, cumulativeWeights } from "../../src/eval/bucket";
import { type CompiledFlags, type CompileError, compile, evaluate } from "../../src/eval/index";
import { parseFlagsFile } from "../../src/flags/parse";
import { NAME_PATTERN } from "../../src/flags/schema";
import type { FlagsDocument } from "../../src/flags/types";
import { snapshotPayload } from "../../src/snapshot/format";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";

type Weights = readonly (readonly [string, number])[];

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const signer = await importSigningKey(keys.primary.private);
const ring = await loadKeyRing({ keys: [keys.primary.public] });
const NOW = Date.UTC(2026, 0, 15);
const LATER = Date.UTC(2031, 0, 1);
const USERS = Array.from({ length: 200 }, (_, i) => `user-${i}`);

/** The DESIGN.md formula over weights in the order given: the variant `key` is bucketed into. */
function reference(salt: string, key: string, weights: Weights): string {
  const index = assign(salt, key, cumulativeWeights(weights.map(([, w]) => w)));
  return weights[index]![0];
}

/** What the worker would compile: signed, then verified (JSON.parse, shape check, compile). */
async function throughSnapshot(doc: FlagsDocument): Promise<CompiledFlags> {
  const jws = await signSnapshot(snapshotPayload(doc, { environment: "t", version: 1, now: NOW }), signer);
  return (await verifySnapshot(jws, { keys: ring, environment: "t", now: NOW })).compiled;
}

/** The variants of a compiled split, in the order it buckets them. */
function splitOrder(c: CompiledFlags, where: "base" | "step" | "rule"): string[] {
  const flag = c.byKey.get("f")!;
  const split = where === "rule" ? flag.rules[0]!.split! : flag.fallthroughSplit!;
  const weights = where === "step" ? split.steps[0]!.weights : split.base;
  return weights.results.map((r) => r.variant!);
}

const variant = (c: CompiledFlags, key: string, now = NOW, attributes = {}) =>
  evaluate(c, "f", { targetingKey: key, attributes }, now).variant;

describe('regression: split { "10": 1, "2": 1 } serves what flagd serves', () => {
  const yaml = [
    "flags:",
    "  f:",
    '    variants: { "10": ten, "2": two, "0": zero }',
    '    offVariant: "0"',
    "    rules:",
    "      - when: [{ attribute: plan, op: equals, values: [pro] }]",
    "        serve:",
    "          split:", // unquoted keys: YAML integers, read back as the strings "2", "0", "10"
    "            2: 1",
    "            0: 1",
    "            10: 1",
    "    fallthrough:",
    '      split: { "10": 1, "2": 1 }',
    '      steps: [{ at: "2030-01-01T00:00:00Z", split: { "10": 1, "0": 1, "2": 2 } }]',
    "",
  ].join("\n");
  // Written as text: a JavaScript object literal would already have put "2" before "10".
  const json =
    '{"flags": {"f": {"variants": {"10": "ten", "2": "two", "0": "zero"}, "offVariant": "0",' +
    ' "rules": [{"when": [{"attribute": "plan", "op": "equals", "values": ["pro"]}],' +
    ' "serve": {"split": {"2": 1, "0": 1, "10": 1}}}],' +
    ' "fallthrough": {"split": {"10": 1, "2": 1},' +
    ' "steps": [{"at": "2030-01-01T00:00:00Z", "split": {"10": 1, "0": 1, "2": 2}}]}}}}';
  const base: Weights = [
    ["10", 1],
    ["2", 1],
  ];
  const rule: Weights = [
    ["2", 1],
    ["0", 1],
    ["10", 1],
  ];
  const step: Weights = [
    ["10", 1],
    ["0", 1],
    ["2", 2],
  ];

  const flagd = new FlagdCore();
  flagd.setConfigurations(
    JSON.stringify({
      flags: {
        f: {
          state: "ENABLED",
          variants: { "10": "ten", "2": "two", "0": "zero" },
          defaultVariant: "0",
          targeting: {
            if: [{ "==": [{ var: "plan" }, "pro"] }, { fractional: rule }, { fractional: base }],
          },
        },
      },
    }),
  );
  const byFlagd = (key: string, plan?: string) =>
    flagd.resolveStringEvaluation("f", "", plan ? { targetingKey: key, plan } : { targetingKey: key })
      .variant;

  it.each([
    ["YAML", yaml, "f.yaml"],
    ["JSON", json, "f.json"],
  ])("from a %s flags file, through a signed snapshot", async (_format, text, file) => {
    const { document, problems } = parseFlagsFile(text, file);
    expect(problems).toEqual([]);
    for (const c of [compile(document!), await throughSnapshot(document!)]) {
      expect(splitOrder(c, "base")).toEqual(["10", "2"]);
      expect(splitOrder(c, "rule")).toEqual(["2", "0", "10"]);
      expect(splitOrder(c, "step")).toEqual(["10", "0", "2"]);
      for (const key of USERS) {
        expect(variant(c, key)).toBe(byFlagd(key));
        expect(variant(c, key)).toBe(reference("f", key, base));
        expect(variant(c, key, NOW, { plan: "pro" })).toBe(byFlagd(key, "pro"));
        expect(variant(c, key, NOW, { plan: "pro" })).toBe(reference("f", key, rule));
        expect(variant(c, key, LATER)).toBe(reference("f", key, step));
      }
    }
  });

  it("is not vacuous: in JavaScript key order every user would get the other variant", () => {
    const jsOrder: Weights = [
      ["2", 1],
      ["10", 1],
    ];
    for (const key of USERS) expect(reference("f", key, jsOrder)).not.toBe(byFlagd(key));
  });
});

describe("snapshots written before splits could be lists", () => {
  it("a map split is still read, in its key order: the order such a snapshot was always served in", async () => {
    // What the old publisher signed for `split: { "10": 1, "2": 1 }`: a JSON object, keys already reordered.
    const doc = JSON.parse(
      '{"flags":{"f":{"variants":{"2":"two","10":"ten"},"offVariant":"2","fallthrough":{"split":{"2":1,"10":1}}}}}',
    ) as FlagsDocument;
    const c = await throughSnapshot(doc);
    expect(splitOrder(c, "base")).toEqual(["2", "10"]);
    for (const key of USERS.slice(0, 50)) {
      expect(variant(c, key)).toBe(
        reference("f", key, [
          ["2", 1],
          ["10", 1],
        ]),
      );
    }
  });
});

describe("compile takes the list form as given", () => {
  it("refuses a variant listed twice (INVALID_SPLIT) and an unknown one (UNKNOWN_VARIANT)", () => {
    const codeOf = (split: { variant: string; weight: number }[]) => {
      try {
        compile({ flags: { f: { fallthrough: { split } } } });
        return "ok";
      } catch (err) {
        return (err as CompileError).code;
      }
    };
    expect(
      codeOf([
        { variant: "on", weight: 1 },
        { variant: "on", weight: 1 },
      ]),
    ).toBe("INVALID_SPLIT");
    expect(codeOf([{ variant: "maybe", weight: 1 }])).toBe("UNKNOWN_VARIANT");
    expect(codeOf([{ variant: "on", weight: 0 }])).toBe("INVALID_SPLIT");
    expect(
      codeOf([
        { variant: "off", weight: 1 },
        { variant: "on", weight: 3 },
      ]),
    ).toBe("ok");
  });
});

// Names a JavaScript object reorders (canonical array indices, 0 to 2^32 - 2) and names it does not.
const integerLike = fc
  .oneof(fc.nat(20), fc.nat(), fc.constantFrom(4294967294, 4294967295, 4294967296))
  .map(String);
const word = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/);
const odd = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "é",
    "日本",
    "🙂",
    "a b",
    "",
    "-1",
  ),
  fc.string({ unit: "grapheme", maxLength: 4 }),
);

/** Distinct names with positive weights, in written order. */
const written = (name: fc.Arbitrary<string>) =>
  fc
    .uniqueArray(name, { minLength: 1, maxLength: 6 })
    .chain((names) =>
      fc
        .array(fc.integer({ min: 1, max: 1000 }), { minLength: names.length, maxLength: names.length })
        .map((ws) => names.map((n, i) => [n, ws[i]!] as const)),
    );

/** A flags file whose fallthrough, rollout step and rule split each list `w` in a different order. */
function flagsFile(w: Weights, format: "yaml" | "json"): string {
  const q = (s: string) => JSON.stringify(s);
  const step = [...w].reverse();
  const rule = [...w.slice(1), w[0]!];
  if (format === "json") {
    const map = (entries: Weights | readonly (readonly [string, string])[]) =>
      `{${entries.map(([k, v]) => `${q(k)}:${typeof v === "number" ? v : q(v)}`).join(",")}}`;
    return (
      `{"flags":{"f":{"variants":${map(w.map(([n], i) => [n, `v${i}`] as const))},"offVariant":${q(w[0]![0])},` +
      `"rules":[{"when":[{"attribute":"plan","op":"equals","values":["pro"]}],"serve":{"split":${map(rule)},"salt":"s"}}],` +
      `"fallthrough":{"split":${map(w)},"steps":[{"at":"2030-01-01T00:00:00Z","split":${map(step)}}]}}}}`
    );
  }
  // Block maps; canonical integers unquoted (YAML reads them as numbers), everything else quoted.
  const key = (n: string) => (/^(0|[1-9]\d*)$/.test(n) ? n : q(n));
  const block = (entries: Weights, indent: string) => entries.map(([n, v]) => `${indent}${key(n)}: ${v}`);
  return [
    "flags:",
    "  f:",
    "    variants:",
    ...w.map(([n], i) => `      ${key(n)}: v${i}`),
    `    offVariant: ${q(w[0]![0])}`,
    "    rules:",
    "      - when: [{ attribute: plan, op: equals, values: [pro] }]",
    "        serve:",
    "          salt: s",
    "          split:",
    ...block(rule, "            "),
    "    fallthrough:",
    "      split:",
    ...block(w, "        "),
    "      steps:",
    '        - at: "2030-01-01T00:00:00Z"',
    "          split:",
    ...block(step, "            "),
    "",
  ].join("\n");
}

describe("property: the order written is the order evaluation uses", () => {
  it("for any names: a flags file is refused or keeps its order through parse, payload, JSON and verify", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        written(fc.oneof({ weight: 3, arbitrary: integerLike }, word, odd)),
        fc.constantFrom("yaml" as const, "json" as const),
        async (w, format) => {
          const { document, problems } = parseFlagsFile(flagsFile(w, format), `f.${format}`);
          const valid = w.every(([n]) => NAME_PATTERN.test(n));
          // Names the validator refuses are refused, never silently reordered.
          expect(problems.length === 0).toBe(valid);
          if (!valid) return;
          accepted++;
          const c = await throughSnapshot(document!);
          const names = w.map(([n]) => n);
          expect(splitOrder(c, "base")).toEqual(names);
          expect(splitOrder(c, "step")).toEqual([...names].reverse());
          expect(splitOrder(c, "rule")).toEqual([...names.slice(1), names[0]]);
          for (const key of ["a", "user-1", "user-42", "ü"]) {
            expect(variant(c, key)).toBe(reference("f", key, w));
            expect(variant(c, key, LATER)).toBe(reference("f", key, [...w].reverse()));
            expect(variant(c, key, NOW, { plan: "pro" })).toBe(reference("s", key, [...w.slice(1), w[0]!]));
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it("for any names, in compile: a list-form split read back from JSON buckets in its list order", () => {
    fc.assert(
      fc.property(written(fc.oneof(integerLike, word, odd)), (w) => {
        // Built as JSON text, as a snapshot arrives: "__proto__" is then an own key, like any name.
        const variants = `{${w.map(([n], i) => `${JSON.stringify(n)}:${i}`).join(",")}}`;
        const split = JSON.stringify(w.map(([variant, weight]) => ({ variant, weight })));
        const doc = JSON.parse(
          `{"flags":{"f":{"variants":${variants},"offVariant":${JSON.stringify(w[0]![0])},"fallthrough":{"split":${split}}}}}`,
        ) as FlagsDocument;
        const c = compile(JSON.parse(JSON.stringify(doc)) as FlagsDocument);
        expect(splitOrder(c, "base")).toEqual(w.map(([n]) => n));
        for (const key of ["a", "user-1"]) {
          const r = evaluate(c, "f", { targetingKey: key }, NOW);
          expect(r.variant).toBe(reference("f", key, w));
          expect(r.value).toBe(w.findIndex(([n]) => n === r.variant));
        }
      }),
      { numRuns: 300 },
    );
  });
});
