/**
 * MurmurHash3 x86_32 that resumes after a pre-hashed prefix: the hot path hashes `salt + bucketKey`
 * without building that string, from a per-split state computed at compile. Same function as
 * murmurhash-js over the concatenation (property-tested), but with Math.imul and no allocation.
 * Pure arithmetic, no I/O.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The hash state after a prefix: mixed blocks, the 0-3 bytes not yet mixed, and the byte count. */
export interface HashPrefix {
  readonly h1: number;
  readonly carry: number;
  readonly carryLength: number;
  readonly length: number;
}

/** Mixes one 32-bit block into the state (also used to combine hashes, e.g. the bulk ETag). */
export function mixBlock(h1: number, k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  k1 = Math.imul(k1, C2);
  h1 ^= k1;
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

/** The final avalanche over the state and the length in bytes (or blocks): the unsigned hash. */
export function finalize(h1: number, length: number): number {
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

/** Hashes the whole blocks of a binary-string prefix (seed 0) and keeps the rest for later. */
export function hashPrefix(binary: string): HashPrefix {
  let h1 = 0;
  const blocks = binary.length & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    h1 = mixBlock(
      h1,
      (binary.charCodeAt(i) & 0xff) |
        ((binary.charCodeAt(i + 1) & 0xff) << 8) |
        ((binary.charCodeAt(i + 2) & 0xff) << 16) |
        ((binary.charCodeAt(i + 3) & 0xff) << 24),
    );
  }
  let carry = 0;
  for (let j = 0; i < binary.length; i++, j++) carry |= (binary.charCodeAt(i) & 0xff) << (8 * j);
  return { h1, carry, carryLength: binary.length & 3, length: binary.length };
}

/**
 * MurmurHash3 x86_32 (seed 0, unsigned) of prefix + `binary`, where `binary` holds one byte per char
 * (a UTF-8 binary string). Equal to murmurhash-js's `murmur3(prefixString + binary, 0)`.
 */
export function hashResume(p: HashPrefix, binary: string): number {
  let h1 = p.h1;
  let carry = p.carry;
  let carryLength = p.carryLength;
  const n = binary.length;
  let i = 0;
  if (carryLength !== 0) {
    while (carryLength < 4 && i < n) {
      carry |= (binary.charCodeAt(i) & 0xff) << (8 * carryLength);
      carryLength++;
      i++;
    }
    if (carryLength === 4) {
      h1 = mixBlock(h1, carry);
      carry = 0;
      carryLength = 0;
    }
  }
  const blocksEnd = i + ((n - i) & ~3);
  while (i < blocksEnd) {
    let k1 =
      (binary.charCodeAt(i) & 0xff) |
      ((binary.charCodeAt(i + 1) & 0xff) << 8) |
      ((binary.charCodeAt(i + 2) & 0xff) << 16) |
      ((binary.charCodeAt(i + 3) & 0xff) << 24);
    i += 4;
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }
  for (; i < n; i++) {
    carry |= (binary.charCodeAt(i) & 0xff) << (8 * carryLength);
    carryLength++;
  }
  if (carryLength !== 0) {
    let k1 = Math.imul(carry, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, C2);
  }
  return finalize(h1, p.length + n);
}

/**
 * The empty prefix under seed 0 (every hash DESIGN.md's formula asks for), shared: no object per call.
 * Not frozen, so it keeps the hidden class of hashPrefix's prefixes (readonly by its type).
 */
const SEED_0: HashPrefix = { h1: 0, carry: 0, carryLength: 0, length: 0 };

/**
 * MurmurHash3 x86_32 (unsigned) of a binary string (one byte per char), with a seed: the same function
 * as murmurhash-js's `murmur3(binary, seed)`, which stays the test reference but out of the worker.
 */
export function murmur3(binary: string, seed = 0): number {
  return hashResume(seed === 0 ? SEED_0 : { h1: seed | 0, carry: 0, carryLength: 0, length: 0 }, binary);
}

/**
 * A bucket key cut into 32-bit little-endian blocks for one prefix alignment (the prefix's
 * `carryLength`): `head` completes the prefix's pending bytes, then whole `words`, then `tail`.
 * Built once per context, it lets each flag hash its salt + key without reading a character.
 */
export interface KeyBlocks {
  readonly head: number;
  /** Whether `head` completes a block (false only for a key shorter than the gap). */
  readonly fillsCarry: boolean;
  readonly words: Int32Array;
  readonly tail: number;
  readonly tailLength: number;
  readonly length: number;
}

/** Cuts a UTF-8 binary string into blocks for a prefix that leaves `alignment` (0-3) bytes pending. */
export function keyBlocks(binary: string, alignment: number): KeyBlocks {
  const n = binary.length;
  const need = (4 - alignment) & 3;
  let head = 0;
  let i = 0;
  for (; i < need && i < n; i++) head |= (binary.charCodeAt(i) & 0xff) << (8 * (alignment + i));
  const fillsCarry = alignment === 0 || i === need;
  const words = new Int32Array((n - i) >> 2);
  for (let w = 0; w < words.length; w++, i += 4) {
    words[w] =
      (binary.charCodeAt(i) & 0xff) |
      ((binary.charCodeAt(i + 1) & 0xff) << 8) |
      ((binary.charCodeAt(i + 2) & 0xff) << 16) |
      ((binary.charCodeAt(i + 3) & 0xff) << 24);
  }
  let tail = 0;
  const tailLength = n - i;
  for (let j = 0; i < n; i++, j++) tail |= (binary.charCodeAt(i) & 0xff) << (8 * j);
  return { head, fillsCarry, words, tail, tailLength, length: n };
}

/**
 * MurmurHash3 x86_32 (seed 0) of prefix + key, as a SIGNED int32 (`>>> 0` gives the usual unsigned
 * value): a small integer return is not boxed when the call is not inlined. `k` must be cut for
 * `p.carryLength`.
 */
export function hashBlocks(p: HashPrefix, k: KeyBlocks): number {
  let h1 = p.h1;
  let k1: number;
  if (p.carryLength !== 0) {
    if (k.fillsCarry) {
      h1 = mixBlock(h1, p.carry | k.head);
    } else {
      // The key ended inside the prefix's last block: that block is the tail.
      k1 = Math.imul(p.carry | k.head, C1);
      k1 = (k1 << 15) | (k1 >>> 17);
      h1 ^= Math.imul(k1, C2);
    }
  }
  const words = k.words;
  for (let w = 0; w < words.length; w++) {
    k1 = Math.imul(words[w]!, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }
  if (k.tailLength !== 0) {
    k1 = Math.imul(k.tail, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, C2);
  }
  return finalize(h1, p.length + k.length) | 0;
}
