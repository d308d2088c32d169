import { readFileSync } from "node:fs";
import fc from "fast-check";
import murmur from "murmurhash-js";
import { describe, expect, it } from "vitest";
import {
  assign,
  bucketOf,
  cumulativeWeights,
  hashBounds,
  isAscii,
  murmur3Utf8,
  pickByHash,
  pickVariant,
  utf8Binary,
} from "../../src/eval/bucket";
import { hashBlocks, hashPrefix, hashResume, keyBlocks, murmur3 } from "../../src/eval/murmur";
import { ownVector } from "./vectors-path";

interface MurmurCase {
  input: string;
  seed: number;
  u32: number;
}
interface BucketCase {
  flagKey: string;
  bucketKey: string;
  hashInput: string;
  hash: number;
  weights: [string, number][];
  variant: string;
}

const murmurCases = (
  JSON.parse(readFileSync(ownVector("murmur3_x86_32.json"), "utf8")) as { cases: MurmurCase[] }
).cases;
const bucketCases = (JSON.parse(readFileSync(ownVector("bucketing.json"), "utf8")) as { cases: BucketCase[] })
  .cases;

/** Reference MurmurHash3 x86_32 over bytes, written from the algorithm, independent of the engine. */
function referenceMurmur(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    let k = view.getUint32(b * 4, true);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const rest = bytes.length & 3;
  const at = blocks * 4;
  if (rest >= 3) k ^= bytes[at + 2]! << 16;
  if (rest >= 2) k ^= bytes[at + 1]! << 8;
  if (rest >= 1) {
    k ^= bytes[at]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
const reference = (s: string, seed = 0) => referenceMurmur(encoder.encode(s), seed);

describe("shared vectors: murmur3_x86_32.json", () => {
  it("has cases", () => expect(murmurCases.length).toBeGreaterThan(20));
  it.each(murmurCases)("murmur3Utf8($input, seed $seed) = $u32", ({ input, seed, u32 }) => {
    expect(murmur3Utf8(input, seed)).toBe(u32);
    expect(reference(input, seed)).toBe(u32);
  });
  it.each(murmurCases.filter((c) => c.seed === 0))("hashResume/hashBlocks($input) = $u32", ({
    input,
    u32,
  }) => {
    const bin = utf8Binary(input);
    for (let cut = 0; cut <= bin.length; cut++) {
      const prefix = hashPrefix(bin.slice(0, cut));
      expect(hashResume(prefix, bin.slice(cut))).toBe(u32);
      expect(hashBlocks(prefix, keyBlocks(bin.slice(cut), prefix.carryLength)) >>> 0).toBe(u32);
    }
  });
});

describe("shared vectors: bucketing.json", () => {
  it("has cases", () => expect(bucketCases.length).toBeGreaterThan(100));
  it.each(bucketCases)("$hashInput with $weights -> $variant", (c) => {
    expect(c.hashInput).toBe(c.flagKey + c.bucketKey);
    expect(murmur3Utf8(c.hashInput)).toBe(c.hash);
    const cumulative = cumulativeWeights(c.weights.map((w) => w[1]));
    const total = cumulative[cumulative.length - 1]!;
    const index = pickVariant(cumulative, bucketOf(c.hash, total));
    expect(c.weights[index]![0]).toBe(c.variant);
    expect(c.weights[assign(c.flagKey, c.bucketKey, cumulative)]![0]).toBe(c.variant);
  });
});

describe("UTF-8 handling", () => {
  it("murmurhash-js alone is not MurmurHash3 over UTF-8 for non-ASCII (why the conversion exists)", () => {
    expect(murmur.murmur3("über", 0)).not.toBe(reference("über"));
    expect(murmur3Utf8("über")).toBe(reference("über"));
  });

  it.each([
    ["", true],
    ["abc~\x7f", true],
    ["\x80", false],
    ["日本", false],
  ])("isAscii(%j) = %s", (s, expected) => expect(isAscii(s)).toBe(expected));

  it.each([
    ["\ud800", "\xef\xbf\xbd"],
    ["a\udc00b", "a\xef\xbf\xbdb"],
    ["\ud83d\ude00", "\xf0\x9f\x98\x80"],
    ["é", "\xc3\xa9"],
  ])("utf8Binary(%j) = %j", (s, bin) => expect(utf8Binary(s)).toBe(bin));

  it("utf8Binary matches TextEncoder byte for byte, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const bytes = Array.from(encoder.encode(s));
        const bin = utf8Binary(s);
        expect(Array.from(bin, (ch) => ch.charCodeAt(0))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("the ASCII fast path and the UTF-8 path agree with each other and with the reference", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme-ascii" }), (any, ascii) => {
        expect(isAscii(ascii)).toBe(true);
        // ASCII input skips conversion; it must hash exactly as the general path would.
        expect(murmur.murmur3(ascii, 0)).toBe(murmur3Utf8(ascii));
        expect(murmur3Utf8(ascii)).toBe(reference(ascii));
        expect(murmur3Utf8(any)).toBe(reference(any));
        expect(murmur3Utf8(ascii + any)).toBe(reference(ascii + any));
      }),
      { numRuns: 2000 },
    );
  });

  it("the worker's own murmur3 equals murmurhash-js for any binary string and seed", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.nat({ max: 0xffffffff }), (s, seed) => {
        const bin = utf8Binary(s);
        expect(murmur3(bin, seed)).toBe(murmur.murmur3(bin, seed));
        expect(murmur3(bin)).toBe(murmur.murmur3(bin, 0));
      }),
      { numRuns: 3000 },
    );
  });

  it("hashing salt + key by resuming from the salt's state equals murmurhash-js over the concatenation", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (salt, key) => {
        const whole = reference(salt + key);
        // The hot path's own MurmurHash3 must give what murmurhash-js gives for the concatenation.
        expect(murmur.murmur3(utf8Binary(salt + key), 0)).toBe(whole);
        const prefix = hashPrefix(utf8Binary(salt));
        const bin = utf8Binary(key);
        expect(hashResume(prefix, bin)).toBe(whole);
        expect(hashBlocks(prefix, keyBlocks(bin, prefix.carryLength)) >>> 0).toBe(whole);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("bucketOf", () => {
  it("is floor(hash * total / 2^32) exactly, for small and huge totals", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (h, total) => {
          const exact = Number((BigInt(h) * BigInt(total)) >> 32n);
          expect(bucketOf(h, total)).toBe(exact);
          expect(bucketOf(h, total)).toBeLessThan(total);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("hash bounds pick exactly what pickVariant(bucketOf) picks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 1_000_000 }), { minLength: 1, maxLength: 6 }),
        fc.nat({ max: 0xffffffff }),
        (weights, h) => {
          const cum = cumulativeWeights(weights);
          const total = cum[cum.length - 1]!;
          fc.pre(total > 0);
          expect(pickByHash(hashBounds(cum), h)).toBe(pickVariant(cum, bucketOf(h, total)));
        },
      ),
      { numRuns: 5000 },
    );
    // The edges: the last hash of one bucket and the first of the next.
    const cum = cumulativeWeights([1, 2]);
    const bounds = hashBounds(cum);
    for (const h of [0, bounds[0]! - 1, bounds[0]!, bounds[1]! - 1, 0xffffffff]) {
      expect(pickByHash(bounds, h)).toBe(pickVariant(cum, bucketOf(h, 3)));
    }
  });

  it("negative weights count as zero", () => {
    expect(cumulativeWeights([5, -3, 5])).toEqual([5, 5, 10]);
    expect(pickVariant([5, 5, 10], 5)).toBe(2);
  });
});

describe("properties of assignment", () => {
  const weightsArb = fc
    .array(fc.nat({ max: 10_000 }), { minLength: 2, maxLength: 6 })
    .filter((w) => w.some((x) => x > 0));

  it("is deterministic: same salt, key and weights, same variant", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), weightsArb, (salt, key, weights) => {
        const cum = cumulativeWeights(weights);
        expect(assign(salt, key, cum)).toBe(assign(salt, key, [...cum]));
      }),
    );
  });

  /*
   * Monotonic rollouts: for any salt, key, weights w (total T > 0), variant j and amount d taken from
   * the other variants (so the total stays T): if the key was assigned j under w, it is still
   * assigned j under the raised weights.
   */
  it("raising one variant's weight, taking it from the others, never moves a key out of it", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 1 }),
        weightsArb,
        fc.nat(),
        fc.array(fc.nat({ max: 10_000 }), { minLength: 6, maxLength: 6 }),
        (salt, key, weights, pick, takes) => {
          const j = pick % weights.length;
          const before = assign(salt, key, cumulativeWeights(weights));
          const raised = [...weights];
          weights.forEach((w, i) => {
            if (i === j) return;
            const take = Math.min(w, takes[i]!);
            raised[i] = w - take;
            raised[j] = raised[j]! + take;
          });
          expect(raised.reduce((a, b) => a + b, 0)).toBe(weights.reduce((a, b) => a + b, 0));
          const after = assign(salt, key, cumulativeWeights(raised));
          if (before === j) expect(after).toBe(j);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("uniformity (deterministic keys, so it cannot flake)", () => {
  // Critical chi-square values at p = 0.001.
  it.each([
    [10, 27.877],
    [100, 148.23],
  ])("100,000 keys over %i buckets: chi-square below the p=0.001 critical value", (buckets, critical) => {
    const n = 100_000;
    const counts = new Array<number>(buckets).fill(0);
    const prefix = hashPrefix("new-checkout");
    for (let i = 0; i < n; i++) {
      const key = `user-${i}`;
      const h = hashBlocks(prefix, keyBlocks(key, prefix.carryLength)) >>> 0;
      counts[bucketOf(h, buckets)]!++;
    }
    const expected = n / buckets;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(critical);
    // And the test can fail: a visibly biased hash (the low byte only) is rejected.
    const biased = new Array<number>(buckets).fill(0);
    for (let i = 0; i < n; i++) biased[bucketOf(((i * 2654435761) >>> 0) & 0xffff, buckets)]!++;
    const chi2Biased = biased.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2Biased).toBeGreaterThan(critical);
  });
});
