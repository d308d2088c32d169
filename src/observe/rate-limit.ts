/**
 * Per-visitor token buckets for POST /v1/events, in isolate memory: each key (a targeting key or a
 * client IP) holds at most `burst` tokens and gets `perMinute` back a minute; an event costs one.
 * Bounded: past `maxKeys` keys the least recently used ones are forgotten (a forgotten key starts
 * full again, which only ever lets a visitor through). Pure: `now` is passed in, no I/O.
 */

export interface RateLimitOptions {
  /** Tokens a bucket holds at most (a visitor's largest burst of events). */
  burst: number;
  /** Tokens a bucket gets back per minute. */
  perMinute: number;
  /** Keys kept at most. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The answer to `take`: allowed, or refused with the seconds after which `cost` tokens are there. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  readonly #o: RateLimitOptions;
  /** Insertion order is recency: a key used is moved to the end, the first is the oldest. */
  #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes `cost` tokens from `key`'s bucket at `now` (epoch ms), or none when it has fewer. */
  take(key: string, cost: number, now: number): RateDecision {
    const { burst, perMinute, maxKeys } = this.#o;
    const perMs = perMinute / 60_000;
    const found = this.#buckets.get(key);
    let b: Bucket;
    if (found) {
      this.#buckets.delete(key);
      b = { tokens: Math.min(burst, found.tokens + Math.max(0, now - found.at) * perMs), at: now };
    } else {
      b = { tokens: burst, at: now };
      if (this.#buckets.size >= maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true };
    }
    // A batch larger than the burst can never pass: tell the client to wait for a full bucket.
    const missing = Math.min(cost, burst) - b.tokens;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / perMs / 1000)) };
  }
}
