/**
 * One event stream's loop, run in the stream's own request: tell a reconnecting client what it
 * missed, then wait for the served version (or the guard state applied to it) to change, a
 * heartbeat to fall due, or the stream's
 * lifetime to end; the ticker also keeps the isolate's store and signal checking. A client is only
 * ever told of a version newer than the last one it was told of, so a stream never announces older
 * flags (a rollback is published as a newer version). No I/O but the injected writer and timers.
 */
import type { Stream, StreamHub } from "./hub";
import { changeEvent, heartbeat, isAfter, type Mark, silentId } from "./sse";

export interface PumpOptions {
  hub: StreamHub;
  stream: Stream;
  /** Writes to the client; rejects once the client is gone. */
  write(text: string): Promise<void>;
  /** A timer in the stream's own request. */
  sleep(ms: number): { done: Promise<void>; cancel(): void };
  /** Settles when the client has gone. */
  gone: Promise<void>;
  /** Lets the store and the signal check if due (the ticker's job); must not throw. */
  tick(): void;
  /** How often the ticker ticks, ms. */
  tickMs: number;
  /** The version (and guard generation) a reconnecting client last saw (Last-Event-ID). */
  lastEventId: Mark | undefined;
  /** Reconnection delay suggested to the client, ms. */
  retryMs: number;
  /**
   * A new client (no Last-Event-ID) is told of the served version at once when it began serving this
   * recently, ms: the page may have fetched its flags just before.
   */
  recentMs: number;
  now(): number;
}

/** Runs the stream until the client goes or its lifetime ends; the hub forgets it either way. */
export async function pump(o: PumpOptions): Promise<void> {
  const { hub, stream } = o;
  const { heartbeatMs, maxLifetimeMs } = hub.limits;
  let open = true;
  void o.gone.then(() => {
    open = false;
    stream.wake?.();
  });
  try {
    const start = o.now();
    const endAt = start + maxLifetimeMs;
    const served = hub.served();
    const mark = (s: Mark): Mark => ({ version: s.version, guards: s.guards });
    let sent: Mark;
    if (o.lastEventId === undefined) {
      const recent = served.version > 0 && start - served.since < o.recentMs;
      await o.write(
        recent ? changeEvent(served, o.retryMs) : silentId(served.version, o.retryMs, served.guards),
      );
      sent = mark(served);
    } else if (isAfter(served, o.lastEventId)) {
      await o.write(changeEvent(served, o.retryMs));
      sent = mark(served);
    } else {
      // The client has this version or a newer one (seen elsewhere): nothing to say until it changes.
      await o.write(`retry: ${o.retryMs}\n\n`);
      sent = o.lastEventId;
    }
    let beatAt = o.now() + heartbeatMs;
    while (open) {
      const now = o.now();
      stream.seenAt = now;
      const current = hub.served();
      if (isAfter(current, sent)) {
        await o.write(changeEvent(current));
        sent = mark(current);
        beatAt = o.now() + heartbeatMs;
        continue;
      }
      if (now >= beatAt) {
        await o.write(heartbeat());
        beatAt = o.now() + heartbeatMs;
      }
      if (now >= endAt) break;
      const ticking = hub.ticking(stream);
      if (ticking) o.tick();
      const woken = hub.wait(stream);
      // A change between the check above and this wait has already been seen: go round again.
      if (isAfter(hub.served(), sent)) continue;
      const until = Math.min(beatAt, endAt, ticking ? now + o.tickMs : Number.POSITIVE_INFINITY);
      const timer = o.sleep(Math.max(0, until - o.now()));
      await Promise.race([woken, timer.done]);
      timer.cancel();
    }
  } catch {
    // The client went away in the middle of a write.
  } finally {
    hub.close(stream);
  }
}
