/**
 * The per-isolate stream registry, with a fake clock: the limit, forgetting streams whose loop
 * stopped, one ticker at a time with a hand-over, and wake-ups only when the served version (or the
 * guard state applied to it) changes; the wire format and Last-Event-ID.
 */
import { describe, expect, it } from "vitest";
import { StreamHub } from "../../src/streams/hub";
import { changeEvent, isAfter, parseLastEventId, silentId } from "../../src/streams/sse";

const limits = { maxStreams: 2, heartbeatMs: 1000, maxLifetimeMs: 60_000 };

function fakeClock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

describe("StreamHub", () => {
  it("holds at most maxStreams, and frees a place on close", () => {
    const hub = new StreamHub(limits, fakeClock().now);
    const a = hub.open();
    expect(hub.open()).toBeDefined();
    expect(hub.open()).toBeUndefined();
    hub.close(a as NonNullable<typeof a>);
    expect(hub.open()).toBeDefined();
  });

  it("forgets a stream whose loop stopped running for three heartbeats and a second", () => {
    const c = fakeClock();
    const hub = new StreamHub(limits, c.now);
    const a = hub.open();
    const b = hub.open();
    c.t += 3 * limits.heartbeatMs + 1000;
    (b as NonNullable<typeof b>).seenAt = c.t;
    expect(hub.size).toBe(2);
    c.t += 1;
    expect(hub.size).toBe(1);
    expect(a).toBeDefined();
    expect(hub.open()).toBeDefined();
  });

  it("has one ticker at a time; when it closes, another stream is woken to take over", async () => {
    const hub = new StreamHub(limits, fakeClock().now);
    const a = hub.open() as NonNullable<ReturnType<StreamHub["open"]>>;
    const b = hub.open() as NonNullable<ReturnType<StreamHub["open"]>>;
    expect(hub.ticking(a)).toBe(true);
    expect(hub.ticking(b)).toBe(false);
    let woken = false;
    void hub.wait(b).then(() => {
      woken = true;
    });
    hub.close(a);
    await Promise.resolve();
    expect(woken).toBe(true);
    expect(hub.ticking(b)).toBe(true);
  });

  it("wakes every stream when the served version changes, not when it stays", async () => {
    const c = fakeClock();
    const hub = new StreamHub(limits, c.now);
    const a = hub.open() as NonNullable<ReturnType<StreamHub["open"]>>;
    let wakes = 0;
    void hub.wait(a).then(() => wakes++);
    hub.changed({ version: 3, issuedAt: 1 });
    await Promise.resolve();
    expect(wakes).toBe(1);
    expect(hub.served()).toEqual({ version: 3, issuedAt: 1, guards: 0, since: c.t });
    void hub.wait(a).then(() => wakes++);
    hub.changed({ version: 3, issuedAt: 1 });
    await Promise.resolve();
    expect(wakes).toBe(1);
  });

  it("wakes the streams when a new guard state applies to the version served, not when it repeats", async () => {
    const hub = new StreamHub(limits, fakeClock().now);
    const a = hub.open() as NonNullable<ReturnType<StreamHub["open"]>>;
    let wakes = 0;
    hub.changed({ version: 3, issuedAt: 1 });
    void hub.wait(a).then(() => wakes++);
    hub.changed({ version: 3, issuedAt: 1, guards: 4 });
    await Promise.resolve();
    expect(wakes).toBe(1);
    expect(hub.served()).toMatchObject({ version: 3, guards: 4 });
    void hub.wait(a).then(() => wakes++);
    hub.changed({ version: 3, issuedAt: 1, guards: 4 });
    // The same version without a generation keeps the one applied; another version starts at 0.
    hub.changed({ version: 3, issuedAt: 1 });
    await Promise.resolve();
    expect(wakes).toBe(1);
    expect(hub.served().guards).toBe(4);
    hub.changed({ version: 4, issuedAt: 2 });
    await Promise.resolve();
    expect(wakes).toBe(2);
    expect(hub.served()).toMatchObject({ version: 4, guards: 0 });
  });
});

describe("the wire format", () => {
  it("a notification carries the version as id and etag; a silent one only sets the id", () => {
    expect(changeEvent({ version: 12, issuedAt: 1771622898 }, 2000)).toBe(
      'retry: 2000\nid: 12\ndata: {"type":"refetchEvaluation","etag":"12","lastModified":1771622898,"version":12}\n\n',
    );
    expect(silentId(12, 1500)).toBe("retry: 1500\nid: 12\n\n");
  });

  it("adds the guard state's generation to the id once one applies; the etag stays the version", () => {
    expect(changeEvent({ version: 12, issuedAt: 1771622898, guards: 3 })).toBe(
      'id: 12.3\ndata: {"type":"refetchEvaluation","etag":"12","lastModified":1771622898,"version":12}\n\n',
    );
    expect(silentId(12, 1500, 3)).toBe("retry: 1500\nid: 12.3\n\n");
  });

  it.each([
    [{ version: 12, guards: 0 }, { version: 11, guards: 9 }, true],
    [{ version: 12, guards: 4 }, { version: 12, guards: 3 }, true],
    [{ version: 12, guards: 3 }, { version: 12, guards: 3 }, false],
    [{ version: 11, guards: 9 }, { version: 12, guards: 0 }, false],
  ])("%o is after %o: %s", (a, b, after) => {
    expect(isAfter(a, b)).toBe(after);
  });

  it("reads only our own ids back from Last-Event-ID", () => {
    expect(parseLastEventId("12")).toEqual({ version: 12, guards: 0 });
    expect(parseLastEventId(" 7 ")).toEqual({ version: 7, guards: 0 });
    expect(parseLastEventId("12.3")).toEqual({ version: 12, guards: 3 });
    for (const bad of [undefined, null, "", "evt-1", "-1", "1e3", "1234567890123456", "12.", ".3", "1.2.3"])
      expect(parseLastEventId(bad)).toBeUndefined();
  });
});
