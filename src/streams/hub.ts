/**
 * The per-isolate registry of open event streams: how many there are (and the limit), what this
 * isolate serves, and waking every stream when that changes. One stream at a time is the "ticker",
 * which keeps the isolate's store and version signal checking while streams are open, however
 * little other traffic the isolate gets. No I/O: streams bring their own timers and writers.
 */
import type { Change, Mark } from "./sse";

export interface StreamLimits {
  /** Most streams one isolate holds open; 0 turns event streams off. */
  maxStreams: number;
  /** A comment is sent after this long without other bytes, ms. */
  heartbeatMs: number;
  /** A stream is closed (and the client reconnects) after this long, ms. */
  maxLifetimeMs: number;
}

/** One open stream as the hub sees it. */
export interface Stream {
  /** When its loop last ran (epoch ms): a stream whose loop stopped without closing is pruned. */
  seenAt: number;
  /**
   * Wakes its loop: the resolver of a promise made in the stream's own request, so the loop goes on
   * there whichever request causes the wake-up (workerd runs a promise's continuations in the request
   * that created it).
   */
  wake: (() => void) | undefined;
}

/** What this isolate serves, and since when (epoch ms; version 0: nothing yet). */
export interface Served extends Mark {
  issuedAt: number;
  since: number;
}

export class StreamHub {
  readonly #streams = new Set<Stream>();
  #ticker: Stream | undefined;
  #served: Served = { version: 0, issuedAt: 0, guards: 0, since: 0 };
  readonly #now: () => number;

  constructor(
    readonly limits: StreamLimits,
    now: () => number = Date.now,
  ) {
    this.#now = now;
  }

  /** Registers a new stream, or undefined when the isolate already holds `maxStreams`. */
  open(): Stream | undefined {
    this.#prune();
    if (this.#streams.size >= this.limits.maxStreams) return undefined;
    const stream: Stream = { seenAt: this.#now(), wake: undefined };
    this.#streams.add(stream);
    return stream;
  }

  close(stream: Stream): void {
    this.#streams.delete(stream);
    stream.wake = undefined;
    if (this.#ticker === stream) {
      this.#ticker = undefined;
      // Another stream takes over driving the signal at once, not at its next heartbeat.
      for (const other of this.#streams) {
        other.wake?.();
        break;
      }
    }
  }

  /** Open streams (after dropping those whose loop stopped without closing). */
  get size(): number {
    this.#prune();
    return this.#streams.size;
  }

  served(): Served {
    return this.#served;
  }

  /**
   * The store serves another version (publish, kill, rollback, KV, signal: whatever caused it), or
   * a new guard state applies to the version served (a trip, a reset, a baked step).
   */
  changed(change: Change): void {
    const guards = change.guards ?? (change.version === this.#served.version ? this.#served.guards : 0);
    if (change.version === this.#served.version && guards === this.#served.guards) return;
    this.#served = { version: change.version, issuedAt: change.issuedAt, guards, since: this.#now() };
    for (const stream of this.#streams) stream.wake?.();
  }

  /** A promise `changed` (or a ticker leaving) resolves; made in the caller's request. */
  wait(stream: Stream): Promise<void> {
    return new Promise((resolve) => {
      stream.wake = resolve;
    });
  }

  /** Whether `stream` drives the signal now: it already does, or no live stream does. */
  ticking(stream: Stream): boolean {
    const ticker = this.#ticker;
    if (ticker === stream) return true;
    if (ticker && this.#streams.has(ticker) && this.#alive(ticker)) return false;
    this.#ticker = stream;
    return true;
  }

  #alive(stream: Stream): boolean {
    // A loop runs at least every heartbeat; three missed ones mean its request is gone.
    return this.#now() - stream.seenAt <= 3 * this.limits.heartbeatMs + 1000;
  }

  #prune(): void {
    for (const stream of this.#streams) if (!this.#alive(stream)) this.close(stream);
  }
}
