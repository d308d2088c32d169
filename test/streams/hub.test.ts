/**
 * The per-isolate stream registry, with a fake clock: the limit, forgetting streams whose loop
 * stopped, one ticker at a time with a hand-over, and wake-ups only when the served version changes.
 */
import { describe, expect, it } from "vitest";
import { StreamHub } from "../../src/streams/hub";
import { changeEvent, parseLastEventId, silentId } from "../../src/streams/sse";

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
    expect(hub.served()).toEqual({ version: 3, issuedAt: 1, since: c.t });
    void hub.wait(a).then(() => wakes++);
    hub.changed({ version: 3, issuedAt: 1 });
    await Promise.resolve();
    expect(wakes).toBe(1);
  });
});

describe("the wire format", () => {
  it("a notification carries the version as id and etag; a silent one only sets the id", () => {
    expect(changeEvent({ version: 12, issuedAt: 1771622898 }, 2000)).toBe(
      'retry: 2000\nid: 12\ndata: {"type":"refetchEvaluation","etag":"12","lastModified":1771622898,"version":12}\n\n',
    );
    expect(silentId(12, 1500)).toBe("retry: 1500\nid: 12\n\n");
  });

  it("reads only our own ids back from Last-Event-ID", () => {
    expect(parseLastEventId("12")).toBe(12);
    expect(parseLastEventId(" 7 ")).toBe(7);
    for (const bad of [undefined, null, "", "evt-1", "-1", "1e3", "1234567890123456"])
      expect(parseLastEventId(bad)).toBeUndefined();
  });
});
