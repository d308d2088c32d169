/**
 * Property tests of the policy's pure parts: globMatch against a regular-expression oracle;
 * canonicalJson (key order is not meaning, except in `split` maps; JSON round trips change nothing;
 * different values are written differently); flag digests (stable, and different when any field of
 * the definition changes; the off digest only when what a disabled flag serves changes).
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument, JsonValue } from "../../src/flags/types";
import { canonicalJson, DocumentDigests } from "../../src/policy/digest";
import { globMatch } from "../../src/policy/policy";

/** The oracle: every character but `*` escaped, `*` as `.*`, anchored. */
function globRegExp(glob: string): RegExp {
  const body = glob
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

describe("globMatch", () => {
  const alphabet = fc.constantFrom("a", "b", "*", ".", "-", "$", "\\");
  it("agrees with the regular-expression oracle", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: alphabet, maxLength: 12 }),
        (glob, text) => {
          expect(globMatch(glob, text)).toBe(globRegExp(glob).test(text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a glob made from a text by turning any characters into stars matches that text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "b", "-"), maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (text, stars) => {
          const glob = [...text].map((c, i) => (stars[i] ? "*" : c)).join("");
          expect(globMatch(glob, text)).toBe(true);
          expect(globMatch(`${glob}*`, text)).toBe(true);
          expect(globMatch(`*${glob}`, text)).toBe(true);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------

/** JSON-ish values over a few keys; never a key `split` unless `withSplit`. */
function jsonish(keys: string[], leaves: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaves,
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys), tie("value"), { maxKeys: 4 }),
    ),
  })).value;
}

const ordinaryKeys = ["a", "b", "c", "on", "off", "10", "2", "variant", "weight"];
const jsonLeaves = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 4 }),
);
/** Leaves JSON cannot keep as they are: undefined, -0, NaN, Infinity. */
const lossyLeaves = fc.oneof(
  jsonLeaves,
  fc.constantFrom(undefined, -0, Number.NaN, Number.POSITIVE_INFINITY),
);

/** A deterministic shuffle of every object's keys (not inside `split` maps), from a seed. */
function shuffled(value: unknown, seed: number): unknown {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const walk = (v: unknown, ordered: boolean): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    const entries = Object.entries(v).map(([k, x]) => [k, walk(x, k === "split")] as const);
    if (!ordered) {
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
    }
    return Object.fromEntries(entries);
  };
  return walk(value, false);
}

/**
 * Equality the way approvals mean it: key order does not matter, except in the `split` maps of what a
 * flag serves; inside variant values (`variants`) every object is ordinary JSON.
 */
class Ordered {
  constructor(readonly entries: [string, unknown][]) {}
}
function meaning(v: unknown, ordered = false, plain = false): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => meaning(x, false, plain));
  const entries = Object.entries(v).map(
    ([k, x]) => [k, meaning(x, !plain && k === "split", plain || k === "variants")] as [string, unknown],
  );
  if (ordered) return new Ordered(entries);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

describe("canonicalJson", () => {
  it("does not change when the keys of ordinary objects are written in another order", () => {
    fc.assert(
      fc.property(jsonish(ordinaryKeys, jsonLeaves), fc.integer(), (value, seed) => {
        expect(canonicalJson(shuffled(value, seed))).toBe(canonicalJson(value));
      }),
      { numRuns: 500 },
    );
  });

  it("sorts ordinary objects: the text is the same as for the sorted object", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...ordinaryKeys), fc.integer(), { minKeys: 2 }), (obj) => {
        // By code unit, as Array.prototype.sort does: "10" before "2" (a JavaScript object would not).
        const sorted = Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1));
        expect(canonicalJson(obj)).toBe(`{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
      }),
    );
  });

  it("changes when the variants of a split map are written in another order (order is meaning)", () => {
    const names = fc.uniqueArray(fc.constantFrom("on", "off", "a", "b", "control"), {
      minLength: 2,
      maxLength: 5,
    });
    fc.assert(
      fc.property(names, fc.integer(), fc.nat(), (variants, seed, w) => {
        const split = Object.fromEntries(variants.map((n, i) => [n, (w + i) % 100]));
        // The same weights in an order from the seed (under an ordinary key, so shuffled), and reversed.
        const permuted = (shuffled({ x: split }, seed) as { x: Record<string, number> }).x;
        const reversed = Object.fromEntries(Object.entries(split).reverse());
        const text = (weights: Record<string, number>) => canonicalJson({ fallthrough: { split: weights } });
        expect(text(permuted) === text(split)).toBe(isDeepStrictEqual(Object.keys(permuted), variants));
        expect(text(reversed)).not.toBe(text(split));
        // ...while the same map anywhere else is an ordinary object.
        expect(canonicalJson({ variants: reversed })).toBe(canonicalJson({ variants: split }));
      }),
    );
  });

  it("is the same after a JSON round trip (undefined, -0, NaN and Infinity included)", () => {
    fc.assert(
      fc.property(jsonish([...ordinaryKeys, "split"], lossyLeaves), (value) => {
        const text = JSON.stringify(value);
        const back = text === undefined ? undefined : JSON.parse(text);
        expect(canonicalJson(back)).toBe(canonicalJson(value));
      }),
      { numRuns: 1000 },
    );
  });

  // Fails on the `split` bug of src/policy/digest.ts (see digest.test.ts): an object under any key
  // `split` is written like a list of pairs, also inside a variant's JSON value, so e.g. the variant
  // values {"split": {}} and {"split": []} are both written {"split":[]}. fast-check shrinks to such a
  // pair. (Where `split` is a split, the schema allows no list of pairs, so no two valid splits collide.)
  it("writes different flag definitions differently (injective up to the meaning of key order)", () => {
    // Variant values from a space small enough for different values to be written alike often, if
    // they can be; splits in both written forms.
    const small = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.constant(1),
        fc.constant({}),
        fc.constant([]),
        fc.constant("a"),
        tie("v").map((v) => ({ split: v })),
        tie("v").map((v) => ({ a: v })),
        tie("v").map((v) => [v]),
      ),
    })).v;
    const flagLike = fc.record({
      variants: fc.record({ on: small }),
      fallthrough: fc.constantFrom<unknown>(
        "on",
        { split: { on: 1, off: 1 } },
        { split: { off: 1, on: 1 } },
        { split: [{ variant: "on", weight: 1 }] },
      ),
    });
    // Every text written so far, with the value it was written for: any two values of the whole run
    // that share a text must mean the same.
    const written = new Map<string, unknown>();
    fc.assert(
      fc.property(flagLike, (x) => {
        const text = canonicalJson(x);
        const first = written.get(text);
        if (first === undefined) written.set(text, x);
        else expect({ text, value: meaning(x) }).toStrictEqual({ text, value: meaning(first) });
      }),
      { numRuns: 5000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------

const name = fc.constantFrom("on", "off", "a", "b", "c");
const scalar = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom("x", "y"), fc.boolean());

/** Flag definitions of every part the digests cover (not necessarily ones compile accepts). */
const flagArb: fc.Arbitrary<FlagDefinition> = fc.record(
  {
    description: fc.string({ maxLength: 3 }),
    owner: fc.constantFrom("web-team", "payments-team"),
    kind: fc.constantFrom("release" as const, "permission" as const),
    tags: fc.array(fc.constantFrom("payments", "checkout"), { maxLength: 2 }),
    clientVisible: fc.boolean(),
    type: fc.constantFrom("boolean" as const, "string" as const, "json" as const),
    enabled: fc.boolean(),
    variants: fc.dictionary(
      name,
      fc.oneof(
        scalar,
        fc.dictionary(fc.constantFrom("k", "v"), scalar, { maxKeys: 2 }),
      ) as fc.Arbitrary<JsonValue>,
      { minKeys: 1, maxKeys: 3 },
    ),
    offVariant: name,
    targets: fc.dictionary(name, fc.array(fc.constantFrom("u1", "u2"), { minLength: 1, maxLength: 2 }), {
      maxKeys: 2,
    }),
    rules: fc.array(
      fc.record({
        id: fc.constantFrom("r1", "r2"),
        when: fc.array(
          fc.oneof(
            fc.record({
              attribute: fc.constantFrom("plan", "geo.country"),
              op: fc.constant("in" as const),
              values: fc.array(scalar, { minLength: 1, maxLength: 2 }),
            }),
            fc.record({ segment: fc.constantFrom("s1", "s2"), negate: fc.boolean() }),
          ),
          { maxLength: 2 },
        ),
        serve: fc.oneof(
          name,
          fc.dictionary(name, fc.nat(100), { minKeys: 1, maxKeys: 3 }).map((split) => ({ split })),
        ),
      }),
      { maxLength: 2 },
    ),
    prerequisites: fc.array(
      fc.record({ flag: fc.constant("dep"), variants: fc.array(name, { minLength: 1, maxLength: 2 }) }),
      {
        maxLength: 1,
      },
    ),
    fallthrough: fc.oneof(
      name,
      fc.dictionary(name, fc.nat(100), { minKeys: 1, maxKeys: 3 }).map((split) => ({ split, salt: "s" })),
    ),
  },
  { requiredKeys: ["fallthrough"] },
);

const docOf = (flag: FlagDefinition): FlagsDocument => ({
  flags: { f: flag, dep: { fallthrough: "on" } },
  segments: { s1: { included: ["u1"] }, s2: { excluded: ["u2"] } },
});

/** Every path to a leaf (or an empty object/list) of a value. */
function leafPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== "object") return [at];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  if (entries.length === 0) return [at];
  return entries.flatMap(([k, x]) => leafPaths(x, [...at, k]));
}

/** A different leaf value: never equal to the old one, whatever its type. */
function other(old: unknown): unknown {
  if (typeof old === "number") return old + 1;
  if (typeof old === "string") return `${old}!`;
  if (typeof old === "boolean") return !old;
  if (Array.isArray(old)) return [{}];
  if (old !== null && typeof old === "object") return { z: 0 };
  return 0;
}

function withLeaf(v: unknown, path: (string | number)[], leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? withLeaf(x, rest, leaf) : x));
  const o = v as Record<string, unknown>;
  return { ...o, [head]: withLeaf(o[head], rest, leaf) };
}

const OFF_FIELDS = new Set(["type", "variants", "offVariant", "clientVisible"]);

async function digests(doc: FlagsDocument) {
  const d = new DocumentDigests(doc);
  return { flag: await d.flag("f"), off: await d.off("f"), dep: await d.flag("dep") };
}

describe("flag digests", () => {
  it("are stable: a JSON round trip and reordered keys give the same digests", async () => {
    await fc.assert(
      fc.asyncProperty(flagArb, fc.integer(), async (flag, seed) => {
        const doc = docOf(flag);
        const again = shuffled(JSON.parse(JSON.stringify(doc)), seed) as FlagsDocument;
        expect(await digests(again)).toEqual(await digests(doc));
      }),
      { numRuns: 200 },
    );
  });

  it("change when any field of the definition changes; the off digest only for what a disabled flag serves", async () => {
    await fc.assert(
      fc.asyncProperty(flagArb, fc.nat(), async (flag, pick) => {
        const paths = leafPaths(flag);
        const path = paths[pick % paths.length]!;
        const old = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], flag);
        const changed = withLeaf(flag, path, other(old)) as FlagDefinition;
        const [a, b] = [await digests(docOf(flag)), await digests(docOf(changed))];
        expect(b.flag).not.toBe(a.flag);
        expect(b.off !== a.off).toBe(OFF_FIELDS.has(String(path[0])));
        expect(b.dep).toBe(a.dep);
      }),
      { numRuns: 300 },
    );
  });

  it("change when a field is removed", async () => {
    await fc.assert(
      fc.asyncProperty(flagArb, fc.nat(), async (flag, pick) => {
        const fields = Object.keys(flag).filter((k) => k !== "fallthrough");
        fc.pre(fields.length > 0);
        const field = fields[pick % fields.length]!;
        const { [field]: _gone, ...rest } = flag as unknown as Record<string, unknown>;
        const [a, b] = [await digests(docOf(flag)), await digests(docOf(rest as unknown as FlagDefinition))];
        expect(b.flag).not.toBe(a.flag);
        expect(b.off !== a.off).toBe(OFF_FIELDS.has(field));
      }),
      { numRuns: 200 },
    );
  });

  it("follow the segments and prerequisites they use, and nothing else of the document", async () => {
    await fc.assert(
      fc.asyncProperty(flagArb, async (flag) => {
        const doc = docOf(flag);
        const base = await digests(doc);
        const usesS1 = (flag.rules ?? []).some((r) =>
          r.when.some((c) => "segment" in c && c.segment === "s1"),
        );
        const usesDep = (flag.prerequisites ?? []).length > 0;
        const segChanged = await digests({ ...doc, segments: { ...doc.segments, s1: { included: ["u9"] } } });
        expect(segChanged.flag !== base.flag).toBe(usesS1);
        const depChanged = await digests({ ...doc, flags: { ...doc.flags, dep: { fallthrough: "off" } } });
        expect(depChanged.flag !== base.flag).toBe(usesDep);
        const unrelated = await digests({
          ...doc,
          flags: { ...doc.flags, other: { fallthrough: "on" } },
          segments: { ...doc.segments, s3: { included: ["u1"] } },
        });
        expect(unrelated).toEqual(base);
        expect(segChanged.off).toBe(base.off);
        expect(depChanged.off).toBe(base.off);
      }),
      { numRuns: 200 },
    );
  });
});
