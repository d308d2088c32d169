/**
 * Bucketing: MurmurHash3 x86_32 over UTF-8 and the weighted pick, compatible with flagd `fractional`.
 * Pure arithmetic, no I/O.
 */
import { murmur3 } from "./murmur";

const TWO_POW_32 = 4294967296;
// Below this total, hash * total stays under 2^53, so float arithmetic is exact.
const EXACT_FLOAT_TOTAL = 2097152;

/** True when every UTF-16 unit is ASCII, so the string already is its own UTF-8 byte string. */
export function isAscii(input: string): boolean {
  for (let i = 0; i < input.length; i++) {
    if (input.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

/**
 * The UTF-8 bytes of `input` as a "binary string" (one char per byte), which is what murmur3 (like
 * murmurhash-js, its test reference) hashes (it reads `charCodeAt(i) & 0xff`). Lone surrogates
 * become U+FFFD, as TextEncoder does.
 */
export function utf8Binary(input: string): string {
  if (isAscii(input)) return input;
  let out = "";
  for (let i = 0; i < input.length; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      out += String.fromCharCode(c);
      continue;
    }
    if (c < 0x800) {
      out += String.fromCharCode(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < input.length ? input.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out += String.fromCharCode(
          0xf0 | (cp >> 18),
          0x80 | ((cp >> 12) & 0x3f),
          0x80 | ((cp >> 6) & 0x3f),
          0x80 | (cp & 0x3f),
        );
        continue;
      }
      c = 0xfffd;
    }
    out += String.fromCharCode(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

/** MurmurHash3 x86_32 (seed 0 unless given) of the UTF-8 bytes of `input`, as an unsigned integer. */
export function murmur3Utf8(input: string, seed = 0): number {
  return murmur3(utf8Binary(input), seed);
}

/** `floor(hash * totalWeight / 2^32)`: the bucket an unsigned hash falls into, exact for any integer total. */
export function bucketOf(hash: number, totalWeight: number): number {
  if (totalWeight <= EXACT_FLOAT_TOTAL) return Math.floor((hash * totalWeight) / TWO_POW_32);
  return bigBucketOf(hash, totalWeight);
}

// Kept apart so the common path above stays free of BigInt and inlines.
function bigBucketOf(hash: number, totalWeight: number): number {
  return Number((BigInt(hash) * BigInt(totalWeight)) >> 32n);
}

/** Running sums of the weights, negative weights counted as 0; the last entry is the total. */
export function cumulativeWeights(weights: readonly number[]): number[] {
  const out: number[] = [];
  let sum = 0;
  for (const w of weights) {
    if (w > 0) sum += w;
    out.push(sum);
  }
  return out;
}

/** Index of the first variant whose cumulative weight exceeds `bucket` (-1 only if total is 0). */
export function pickVariant(cumulative: readonly number[], bucket: number): number {
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! > bucket) return i;
  }
  return -1;
}

/**
 * The weights moved into hash space: entry i is ceil(cumulative[i] * 2^32 / total), so
 * `bucketOf(hash, total) < cumulative[i]` exactly when `hash < bounds[i]`. Computed once at compile
 * (exactly, in BigInt), it spares evaluation the multiply and division.
 */
export function hashBounds(cumulative: readonly number[]): number[] {
  const total = BigInt(cumulative.length === 0 ? 0 : cumulative[cumulative.length - 1]!);
  if (total === 0n) return cumulative.map(() => 0);
  return cumulative.map((c) => Number(((BigInt(c) << 32n) + total - 1n) / total));
}

/** Index of the first variant whose hash bound exceeds `hash`; same answer as pickVariant(bucketOf). */
export function pickByHash(bounds: readonly number[], hash: number): number {
  for (let i = 0; i < bounds.length; i++) {
    if (hash < bounds[i]!) return i;
  }
  return -1;
}

/** The variant index a bucket key gets for a salt and weights: the whole DESIGN.md formula. */
export function assign(salt: string, bucketKey: string, cumulative: readonly number[]): number {
  const total = cumulative.length === 0 ? 0 : cumulative[cumulative.length - 1]!;
  return pickVariant(cumulative, bucketOf(murmur3Utf8(salt + bucketKey), total));
}

/**
 * A split's bucket key from the value its `by` reads: the targeting key (empty counts as missing), or
 * a scalar attribute's text (empty counts as missing); undefined when there is none.
 */
export function bucketKeyOf(raw: unknown, byKey: boolean): string | undefined {
  if (byKey) return typeof raw === "string" && raw !== "" ? raw : undefined;
  const t = typeof raw;
  if (t !== "string" && t !== "number" && t !== "boolean") return undefined;
  const text = String(raw);
  return text === "" ? undefined : text;
}
