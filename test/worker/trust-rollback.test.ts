/**
 * Rollback by a KV writer (someone who can write Workers KV directly, bypassing the intake): a cold
 * isolate learns the version floor from the beacon, which a KV writer cannot touch, in parallel with
 * its KV read, and never serves below it; an older snapshot is an alarm (/healthz degraded, an
 * error log line), not "unchanged"; the beacon's verified copy serves when KV holds garbage.
 */
import { describe, expect, it } from "vitest";
import { kvKeys } from "../../src/snapshot/format";
import { harness, snapshot, testEnv } from "./helpers";
import { brokenBeacon, clock, realBeacon } from "./signal-helpers";
import { flakyBeacon, health, kvWriter, LONG_AFTER_MS, publishLegit, served } from "./trust-helpers";

/** Versions 1..n published the legitimate way; returns their JWS by version. */
async function history(environment: string, n: number, copy = true): Promise<string[]> {
  const jws: string[] = [];
  for (let v = 1; v <= n; v++) {
    jws[v] = await snapshot({ environment, version: v });
    await publishLegit(environment, v, jws[v] as string, copy);
  }
  return jws;
}

describe("a cold isolate and a KV writer's rollback", () => {
  it("serves the beacon's version, not the older valid snapshot put in `current` and the versioned key; /healthz degraded, logged", async () => {
    const environment = "trust-rb-cold";
    const jws = await history(environment, 3);
    await kvWriter(environment, { current: jws[1], versions: [[3, jws[1] as string]] });

    const c = clock(Date.now() + LONG_AFTER_MS);
    const events: Record<string, unknown>[] = [];
    const cold = harness({ EDGEFLAGS_ENV: environment }, { now: c.now, log: (e) => events.push(e) });
    expect(await served(cold)).toBe(3);
    const { status, body } = await health(cold);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: "degraded",
      version: 3,
      source: "last-known-good",
      lastError: { code: "ERR_SNAPSHOT_ROLLBACK" },
      floor: { version: 3 },
    });
    expect(events).toContainEqual(
      expect.objectContaining({ event: "snapshot_rollback_refused", level: "error", via: "kv" }),
    );
    // And it stays there: later refreshes and signal checks never take it down to version 1.
    for (let i = 0; i < 5; i++) {
      c.advance(2000);
      expect(await served(cold)).toBe(3);
    }
    expect((await health(cold)).body).toMatchObject({
      status: "degraded",
      lastError: { code: "ERR_SNAPSHOT_ROLLBACK" },
    });
  });

  it("serves the beacon's valid copy when KV holds garbage in `current` and the versioned key", async () => {
    const environment = "trust-rb-garbage";
    await history(environment, 2);
    await kvWriter(environment, { current: "garbage", versions: [[2, "garbage"]] });

    const c = clock(Date.now() + LONG_AFTER_MS);
    const cold = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    expect(await served(cold)).toBe(2);
    expect((await health(cold)).body).toMatchObject({
      status: "degraded",
      version: 2,
      lastError: { code: "ERR_SNAPSHOT_MALFORMED" },
      floor: { version: 2 },
    });
  });

  it("never serves below the floor: with no valid copy of the announced version anywhere, it serves nothing", async () => {
    const environment = "trust-rb-nocopy";
    const jws = await history(environment, 3, false); // too big for the beacon: it holds versions only
    await kvWriter(environment, { current: jws[1], versions: [[3, jws[1] as string]] });

    const c = clock(Date.now() + LONG_AFTER_MS);
    const cold = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    expect((await cold.fetch("/v1/flags")).status).toBe(503);
    const { status, body } = await health(cold);
    expect(status).toBe(503);
    expect(body).toMatchObject({
      status: "no_snapshot",
      version: null,
      lastError: { code: "ERR_SNAPSHOT_ROLLBACK" },
      floor: { version: 3 },
    });
  });

  it("within KV's lag an older `current` is no alarm: the announced version serves, /healthz ok", async () => {
    const environment = "trust-rb-lag";
    const v1 = await snapshot({ environment, version: 1 });
    await publishLegit(environment, 1, v1);
    // Version 2 published a moment ago; this location's `current` still returns version 1.
    const v2 = await snapshot({ environment, version: 2 });
    await testEnv.FLAGS.put(kvKeys.version(environment, 2), v2);
    await realBeacon(environment).announce(environment, 2, v2);

    const cold = harness({ EDGEFLAGS_ENV: environment });
    expect(await served(cold)).toBe(2);
    expect((await health(cold)).body).toMatchObject({
      status: "ok",
      version: 2,
      source: "fresh",
      lastError: null,
      floor: { version: 2 },
    });
  });
});

describe("the signal and a KV writer's rollback", () => {
  it("prefers the beacon's own copy to KV's versioned key", async () => {
    const environment = "trust-rb-signal-copy";
    const jws = await history(environment, 3);
    await kvWriter(environment, { current: jws[1], versions: [[3, jws[1] as string]] });

    // Cold while the beacon is unreachable: no floor is known, so KV's version 1 serves, as before.
    const c = clock(Date.now() + LONG_AFTER_MS);
    const flaky = flakyBeacon(environment);
    const h = harness({ EDGEFLAGS_ENV: environment }, { now: c.now, beacon: flaky.beacon, cache: null });
    expect(await served(h)).toBe(1);
    expect((await health(h)).body.floor).toMatchObject({
      version: null,
      error: { code: "ERR_SIGNAL_UNAVAILABLE" },
    });

    flaky.up();
    c.advance(2000);
    await served(h); // the check runs after this response
    expect(await served(h)).toBe(3);
    expect((await health(h)).body.signal.lastCheck).toMatchObject({
      result: "updated",
      seenVersion: 3,
      fetchedFrom: "beacon",
    });
  });

  it("reports an older snapshot under the announced version's key as `rejected` (ERR_SNAPSHOT_ROLLBACK), not `unchanged`", async () => {
    const environment = "trust-rb-signal-kv";
    const jws = await history(environment, 3, false);
    await kvWriter(environment, { current: jws[1], versions: [[3, jws[1] as string]] });

    const c = clock(Date.now() + LONG_AFTER_MS);
    const flaky = flakyBeacon(environment);
    const h = harness({ EDGEFLAGS_ENV: environment }, { now: c.now, beacon: flaky.beacon, cache: null });
    expect(await served(h)).toBe(1);

    flaky.up();
    c.advance(2000);
    expect(await served(h)).toBe(1); // last known good: nothing better can be had
    const { body } = await health(h);
    expect(body.signal.lastCheck).toMatchObject({
      result: "rejected",
      seenVersion: 3,
      fetchedFrom: "kv",
      error: { code: "ERR_SNAPSHOT_ROLLBACK" },
    });
    expect(body).toMatchObject({
      status: "degraded",
      lastError: { code: "ERR_SNAPSHOT_ROLLBACK" },
      floor: { version: 3 },
    });
  });
});

describe("no floor known", () => {
  it("KV-only (no BEACON binding): serves KV as before and /healthz says no floor is known", async () => {
    const environment = "trust-rb-kvonly";
    await testEnv.FLAGS.put(kvKeys.current(environment), await snapshot({ environment, version: 4 }));
    const h = harness({ EDGEFLAGS_ENV: environment, BEACON: undefined });
    expect(await served(h)).toBe(4);
    expect((await health(h)).body).toMatchObject({
      status: "ok",
      floor: { version: null, reason: "no BEACON binding" },
    });
  });

  it("beacon unreachable: serves KV as before, /healthz shows the floor's error", async () => {
    const environment = "trust-rb-broken";
    await testEnv.FLAGS.put(kvKeys.current(environment), await snapshot({ environment, version: 4 }));
    const h = harness({ EDGEFLAGS_ENV: environment }, { beacon: () => brokenBeacon, cache: null });
    expect(await served(h)).toBe(4);
    expect((await health(h)).body).toMatchObject({
      status: "ok",
      floor: { version: null, error: { code: "ERR_SIGNAL_UNAVAILABLE" } },
    });
  });

  it("nothing announced yet: serves KV, the floor is known to be empty", async () => {
    const environment = "trust-rb-unannounced";
    await testEnv.FLAGS.put(kvKeys.current(environment), await snapshot({ environment, version: 4 }));
    const h = harness({ EDGEFLAGS_ENV: environment });
    expect(await served(h)).toBe(4);
    const { body } = await health(h);
    expect(body).toMatchObject({ status: "ok", floor: { version: null } });
    expect(body.floor.checkedAt).not.toBeNull();
    expect(body.floor.error).toBeUndefined();
  });
});
