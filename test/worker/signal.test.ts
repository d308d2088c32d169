/**
 * The version signal in real workerd: with KV made to lag 60 s, an isolate elsewhere serves a publish
 * within the interval plus a small margin; whatever the signal delivers is verified exactly like KV;
 * without the beacon, or with a failing one, the worker serves on and falls back to KV.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import { coalesced, SignalFailure } from "../../src/signal/coalesce";
import type { Beacon } from "../../src/signal/types";
import { kvKeys } from "../../src/snapshot/format";
import { type Harness, harness, publishToKv, snapshot, testEnv } from "./helpers";
import {
  brokenBeacon,
  type Clock,
  clock,
  countingBeacon,
  KV_LAG_MS,
  laggingKv,
  realBeacon,
} from "./signal-helpers";

/** SIGNAL_INTERVAL_SECONDS as wrangler.toml sets it (the default). */
const INTERVAL_MS = 2000;
/** Requests reach the isolate this often in the simulations. */
const STEP_MS = 100;
/** Worst case by design: a check every interval at most, each seeing an answer at most half an interval old. */
const BOUND_MS = INTERVAL_MS * 1.5 + STEP_MS;

const TOKEN = "test-publish-token";
const put = (body: string) => ({
  method: "PUT",
  headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/jose" },
  body,
});
const notify = (body: string, token = TOKEN) => ({
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/jose" },
  body,
});

async function served(h: Harness): Promise<number> {
  const res = await h.fetch("/v1/flags?targetingKey=u");
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

async function health(h: Harness) {
  return (await (await h.fetch("/healthz")).json()) as {
    version: number;
    status: string;
    source: string;
    lastError: { code: string } | null;
    signal: {
      enabled: boolean;
      reason?: string;
      intervalSeconds: number;
      lastCheck: {
        result: string;
        seenVersion: number | null;
        via: string | null;
        fetchedFrom?: string;
        error?: { code: string; message: string };
      } | null;
      lastUpdate: { version: number } | null;
    };
  };
}

/** Steps the clock, a request each step, until `h` serves `version`; the ms that took, or undefined. */
async function timeUntilServed(h: Harness, c: Clock, version: number, limitMs: number) {
  const t0 = c.t;
  while (c.t - t0 <= limitMs) {
    if ((await served(h)) >= version) return c.t - t0;
    c.advance(STEP_MS);
  }
  return undefined;
}

/** A publisher-facing isolate and one in another location (its own cache), both over lagging KV. */
async function twoLocations(environment: string, c: Clock, far: Partial<Env> = {}, farOptions = {}) {
  const kv = laggingKv(c);
  await publishToKv(await snapshot({ environment, version: 1 }), environment);
  const options = { now: c.now, random: () => 0.5 };
  const near = harness({ EDGEFLAGS_ENV: environment, FLAGS: kv }, options);
  const other = harness(
    { EDGEFLAGS_ENV: environment, FLAGS: kv, ...far },
    { ...options, cache: await caches.open(`far-${environment}`), ...farOptions },
  );
  expect(await served(other)).toBe(1);
  return { kv, near, far: other };
}

describe("propagation under 60 s of KV lag", () => {
  it("a publish through the intake is served in another location within 1.5 intervals, whatever the phase", async () => {
    const environment = "sig-phase";
    const c = clock();
    const { near, far } = await twoLocations(environment, c);
    const times: number[] = [];
    // Publish at every phase of the far isolate's check cycle.
    for (let i = 0; i < 12; i++) {
      c.advance(i * 170);
      const version = i + 2;
      const res = await near.fetch("/v1/snapshot", put(await snapshot({ environment, version })));
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ version, signal: "announced" });
      const ms = await timeUntilServed(far, c, version, KV_LAG_MS);
      expect(ms).toBeDefined();
      times.push(ms as number);
    }
    expect(Math.max(...times)).toBeLessThanOrEqual(BOUND_MS);
    // KV never helped: every read of `current` in the far location still lagged.
    expect(await testEnv.FLAGS.get(kvKeys.current(environment))).not.toBeNull();
    const h = await health(far);
    expect(h.signal).toMatchObject({ enabled: true, intervalSeconds: 2, lastUpdate: { version: 13 } });
    // From the beacon's own copy, which a KV writer cannot replace (KV's versioned key is the fallback).
    expect(h.signal.lastCheck).toMatchObject({ result: "updated", seenVersion: 13, fetchedFrom: "beacon" });
  });

  it("fetches the announced version from KV's versioned key when the beacon does not hold the JWS", async () => {
    const environment = "sig-kvkey";
    const c = clock();
    // Only `current` lags, as in a location that had read it; `v/<N>` was never read there.
    const kv = laggingKv(c, (key) => key.endsWith("/current"));
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    const versionOnly = (): Beacon => {
      const inner = realBeacon(environment);
      return { ...countingBeacon(inner).beacon, announce: (e, v) => inner.announce(e, v, null) };
    };
    const near = harness({ EDGEFLAGS_ENV: environment, FLAGS: kv }, { now: c.now, beacon: versionOnly });
    const far = harness(
      { EDGEFLAGS_ENV: environment, FLAGS: kv },
      { now: c.now, random: () => 0, cache: await caches.open("far-kvkey") },
    );
    expect(await served(far)).toBe(1);
    c.advance(500);
    expect((await near.fetch("/v1/snapshot", put(await snapshot({ environment, version: 2 })))).status).toBe(
      201,
    );
    expect(await timeUntilServed(far, c, 2, KV_LAG_MS)).toBeLessThanOrEqual(BOUND_MS);
    expect((await health(far)).signal.lastCheck).toMatchObject({
      result: "updated",
      seenVersion: 2,
      fetchedFrom: "kv",
    });
  });

  it("without the beacon binding the worker serves on, KV-only: the far isolate catches up only after KV's lag", async () => {
    const environment = "sig-nobeacon";
    const c = clock();
    const { near, far } = await twoLocations(environment, c, { BEACON: undefined });
    const h = await health(far);
    expect(h.signal).toMatchObject({ enabled: false, reason: "no BEACON binding", lastCheck: null });
    const res = await near.fetch("/v1/snapshot", put(await snapshot({ environment, version: 2 })));
    expect(await res.json()).toMatchObject({ version: 2, signal: "announced" });
    const ms = await timeUntilServed(far, c, 2, KV_LAG_MS + 5000);
    expect(ms).toBeGreaterThanOrEqual(KV_LAG_MS);
    expect(ms).toBeLessThanOrEqual(KV_LAG_MS + 1000 + STEP_MS); // lag + REFRESH_INTERVAL_SECONDS (1 in tests)
  });

  it("with the beacon failing, requests are served, /healthz shows the error, and KV's refresh still brings the publish", async () => {
    const environment = "sig-broken";
    const c = clock();
    const { near, far } = await twoLocations(environment, c, {}, { beacon: () => brokenBeacon });
    const res = await near.fetch("/v1/snapshot", put(await snapshot({ environment, version: 2 })));
    expect(res.status).toBe(201);
    c.advance(INTERVAL_MS);
    expect(await served(far)).toBe(1);
    const h = await health(far);
    expect(h).toMatchObject({ status: "ok", version: 1 });
    expect(h.signal.lastCheck).toMatchObject({
      result: "error",
      seenVersion: null,
      error: { code: "ERR_SIGNAL_UNAVAILABLE", message: expect.stringContaining("beacon unreachable") },
    });
    const ms = await timeUntilServed(far, c, 2, KV_LAG_MS + 5000);
    expect(ms).toBeGreaterThan(KV_LAG_MS - INTERVAL_MS - STEP_MS);
  });

  it("the intake still stores and serves a publish when the beacon fails, and says so", async () => {
    const environment = "sig-broken-intake";
    const h = harness({ EDGEFLAGS_ENV: environment }, { beacon: () => brokenBeacon });
    const res = await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 1 })));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ version: 1, signal: "failed" });
    expect(await served(h)).toBe(1);
  });

  it("a stalled beacon delays a cold start by the floor timeout at most (then KV serves, no floor known), and never a warm response", async () => {
    const environment = "sig-stall";
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    let release!: () => void;
    const stalled = new Promise<null>((r) => {
      release = () => r(null);
    });
    const beacon: Beacon = { ...brokenBeacon, read: () => stalled };
    const c = clock();
    const app = createApp({ beacon: () => beacon, cache: null, log: () => {}, now: c.now });
    const bindings = { ...testEnv, EDGEFLAGS_ENV: environment } as Env;
    const call = async () => {
      const ctx = createExecutionContext();
      const t0 = Date.now();
      const res = await app.fetch(
        new Request("https://flags.example.test/v1/flags?targetingKey=u"),
        bindings,
        ctx,
      );
      return { res, ctx, ms: Date.now() - t0 };
    };
    const cold = await call();
    expect(cold.res.status).toBe(200);
    expect(cold.ms).toBeGreaterThanOrEqual(900); // waited for the floor, up to its 1 s timeout
    expect(cold.ms).toBeLessThan(3000);
    c.advance(INTERVAL_MS * 2); // a KV refresh and a check are due; the check is still stalled
    const warm = await call();
    expect(warm.res.status).toBe(200); // resolved although the check it started is still waiting
    expect(warm.ms).toBeLessThan(500);
    const h = await (
      await app.fetch(new Request("https://flags.example.test/healthz"), bindings, warm.ctx)
    ).json();
    expect(h).toMatchObject({
      status: "ok",
      version: 1,
      floor: { version: null, error: { code: "ERR_SIGNAL_TIMEOUT" } },
    });
    release();
    await waitOnExecutionContext(cold.ctx);
    await waitOnExecutionContext(warm.ctx);
  });
});

/** Ways to deliver a bad snapshot, and the code KV reads get for each. */
const BAD: [string, string, (env: string) => Promise<string>][] = [
  [
    "a tampered snapshot",
    "ERR_SNAPSHOT_SIGNATURE",
    async (environment) => {
      const [head, , sig] = (await snapshot({ environment, version: 11 })).split(".");
      const other = (await snapshot({ environment, version: 11, flags: { flags: {} } })).split(".")[1];
      return `${head}.${other}.${sig}`;
    },
  ],
  [
    "an untrusted key's snapshot",
    "ERR_SNAPSHOT_KID_UNKNOWN",
    (e) => snapshot({ environment: e, version: 11 }, "untrusted"),
  ],
  ["an older version", "ERR_SNAPSHOT_ROLLBACK", (e) => snapshot({ environment: e, version: 9 })],
  [
    "another environment's snapshot",
    "ERR_SNAPSHOT_ENV",
    () => snapshot({ environment: "elsewhere", version: 11 }),
  ],
  [
    "an expired snapshot",
    "ERR_SNAPSHOT_EXPIRED",
    (e) => snapshot({ environment: e, version: 11, expiresAt: new Date(Date.now() - 60_000).toISOString() }),
  ],
  ["garbage", "ERR_SNAPSHOT_MALFORMED", async () => "this is not a snapshot"],
];

describe("whatever the signal delivers is verified like a KV read", () => {
  describe.each(["kv", "beacon"] as const)("fetched from %s", (from) => {
    it.each(BAD)("refuses %s with %s and keeps serving the current one", async (what, code, make) => {
      const environment = `sig-bad-${from}-${code.toLowerCase()}`;
      await publishToKv(await snapshot({ environment, version: 10 }), environment);
      const c = clock();
      const h = harness({ EDGEFLAGS_ENV: environment }, { now: c.now, random: () => 0 });
      expect(await served(h)).toBe(10);

      // Someone able to write KV's versioned key or the beacon directly (not through the intake).
      const bad = await make(environment);
      if (from === "kv") await testEnv.FLAGS.put(kvKeys.version(environment, 11), bad);
      await realBeacon(environment).announce(environment, 11, from === "beacon" ? bad : null);
      c.advance(INTERVAL_MS);
      expect(await served(h)).toBe(10);
      const viaSignal = await health(h);
      expect(viaSignal).toMatchObject({ version: 10, source: "last-known-good", lastError: { code } });
      expect(viaSignal.signal.lastCheck).toMatchObject({
        result: "rejected",
        seenVersion: 11,
        fetchedFrom: from,
        error: { code },
      });

      // The same bytes as KV's live snapshot, in a fresh environment: the same code.
      const kvEnvironment = `${environment}-as-kv`;
      await publishToKv(await snapshot({ environment: kvEnvironment, version: 10 }), kvEnvironment);
      const k = harness({ EDGEFLAGS_ENV: kvEnvironment, BEACON: undefined }, { now: c.now });
      expect(await served(k)).toBe(10);
      await publishToKv(await make(kvEnvironment), kvEnvironment);
      c.advance(1500);
      expect(await served(k)).toBe(10);
      expect((await health(k)).lastError?.code).toBe(code);
      void what;
    });
  });
});

describe("POST /v1/snapshot/notify (for snapshots written to KV by the Cloudflare API)", () => {
  it("announces a verified snapshot; a far isolate then serves it despite KV's lag", async () => {
    const environment = "sig-notify";
    const c = clock();
    const { kv, near, far } = await twoLocations(environment, c);
    const v2 = await snapshot({ environment, version: 2 });
    // What the kv-api target does: write KV directly, then notify.
    await kv.put(kvKeys.version(environment, 2), v2);
    await kv.put(kvKeys.current(environment), v2);
    const res = await near.fetch("/v1/snapshot/notify", notify(v2));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: 2, signal: "announced", beaconVersion: 2 });
    expect(await timeUntilServed(far, c, 2, KV_LAG_MS)).toBeLessThanOrEqual(BOUND_MS);
  });

  it("refuses a forged snapshot (422 with its code) and a missing token (401); the beacon does not move", async () => {
    const environment = "sig-notify-bad";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const forged = await snapshot({ environment, version: 5 }, "untrusted");
    const res = await h.fetch("/v1/snapshot/notify", notify(forged));
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: "invalid_snapshot", code: "ERR_SNAPSHOT_KID_UNKNOWN" });
    const good = await snapshot({ environment, version: 5 });
    expect((await h.fetch("/v1/snapshot/notify", notify(good, "wrong"))).status).toBe(401);
    expect(await realBeacon(environment).read()).toBeNull();
  });
});

describe("POST /v1/snapshot/notify body limit", () => {
  it("refuses a body over MAX_SNAPSHOT_BYTES with 413 before reading it into a snapshot", async () => {
    const environment = "sig-notify-size";
    const h = harness({ EDGEFLAGS_ENV: environment, MAX_SNAPSHOT_BYTES: "200" });
    const res = await h.fetch("/v1/snapshot/notify", notify(await snapshot({ environment, version: 1 })));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: "payload_too_large",
      message: "the request body is too large",
    });
  });
});

describe("cost: checks are coalesced per location", () => {
  it("ten isolates in one location ask the beacon about once per half interval, not each on its own", async () => {
    const environment = "sig-coalesce";
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    const c = clock();
    const counted = countingBeacon(realBeacon(environment));
    const location = await caches.open("coalesce-location");
    let n = 0;
    const isolates = Array.from({ length: 10 }, () =>
      harness(
        { EDGEFLAGS_ENV: environment },
        { now: c.now, beacon: () => counted.beacon, cache: location, random: () => (n++ % 10) / 10 },
      ),
    );
    const minute = 60_000;
    const start = c.t;
    for (let i = 0; c.t - start < minute; i++) {
      await served(isolates[i % isolates.length] as Harness);
      c.advance(20); // each isolate sees a request every 200 ms
    }
    const perLocation = minute / (INTERVAL_MS / 2);
    expect(counted.calls.read).toBeGreaterThan(perLocation / 2);
    expect(counted.calls.read).toBeLessThanOrEqual(perLocation + 2);
    // Each isolate still checked on its own schedule: about 60 s / 1.75 s.
    const checks = await Promise.all(isolates.map(async (h) => (await health(h)).signal.lastCheck));
    expect(checks.every((x) => x?.result === "unchanged")).toBe(true);
  });

  it("can be turned off with SIGNAL_INTERVAL_SECONDS=0", async () => {
    const environment = "sig-off";
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    const h = harness({ EDGEFLAGS_ENV: environment, SIGNAL_INTERVAL_SECONDS: "0" });
    expect((await health(h)).signal).toMatchObject({
      enabled: false,
      reason: "SIGNAL_INTERVAL_SECONDS is 0",
    });
  });
});

describe("writes to the location's cache", () => {
  /** A cache whose writes wait for `release()`. */
  async function slowCache(name: string) {
    const real = await caches.open(name);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cache = {
      match: (k: string) => real.match(k),
      put: async (k: string, r: Response) => {
        await gate;
        await real.put(k, r);
      },
    };
    return { real, cache, release };
  }
  /** Whether `p` settles within a second (what waits on a write held back never does). */
  const settled = (p: Promise<unknown>) =>
    Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))]);

  it("with `later`, answers before its write lands, and the write given to `later` lands", async () => {
    const { real, cache, release } = await slowCache("signal-later");
    const key = "https://edgeflags.internal/test/later";
    const later: Promise<unknown>[] = [];
    const read = coalesced(
      cache,
      key,
      60_000,
      Date.now,
      () => Promise.resolve(7),
      undefined,
      (p) => {
        later.push(p);
      },
    );
    expect(await settled(read)).toBe(true);
    expect(await read).toEqual({ value: 7, from: "origin" });
    expect(later).toHaveLength(1);
    expect(await real.match(key)).toBeUndefined();
    release();
    await Promise.all(later);
    const again = coalesced(cache, key, 60_000, Date.now, () => Promise.resolve(8));
    expect(await again).toEqual({ value: 7, from: "cache" });
  });

  it("a cold load answers before the location's cache has stored the beacon's answer", async () => {
    const environment = "sig-cold-later";
    await publishToKv(await snapshot({ environment, version: 3 }), environment);
    const { real, cache, release } = await slowCache("sig-cold-later");
    const puts: string[] = [];
    const recording = {
      match: cache.match,
      put: (k: string, r: Response) => {
        puts.push(k);
        return cache.put(k, r);
      },
    };
    const app = createApp({ cache: recording, log: () => {} });
    const ctx = createExecutionContext();
    const env = { ...testEnv, EDGEFLAGS_ENV: environment } as Env;
    const res = app.fetch(new Request("https://flags.example.test/v1/flags?targetingKey=u1"), env, ctx);
    expect(await settled(Promise.resolve(res))).toBe(true);
    expect((await res).status).toBe(200);
    // The beacon's answer was read and its write asked for, but has not landed: it is in waitUntil.
    expect(puts.some((k) => k.endsWith("/state"))).toBe(true);
    expect(await real.match(puts[0]!)).toBeUndefined();
    release();
    await waitOnExecutionContext(ctx);
    expect(await real.match(puts[0]!)).toBeDefined();
  });

  it("without `later`, waits for its write (a check in waitUntil keeps it that way)", async () => {
    const { cache, release } = await slowCache("signal-awaited");
    const read = coalesced(cache, "https://edgeflags.internal/test/awaited", 60_000, Date.now, () =>
      Promise.resolve(7),
    );
    expect(await settled(read)).toBe(false);
    release();
    expect(await read).toEqual({ value: 7, from: "origin" });
  });
});

describe("failure codes through the location's cache", () => {
  it("keeps a timeout's code, for the isolate that timed out and for the ones that read it cached", async () => {
    const cache = await caches.open("signal-codes");
    const key = "https://edgeflags.internal/test/timeout";
    const timedOut = () =>
      Promise.reject(new SignalFailure("ERR_SIGNAL_TIMEOUT", "reading the beacon took over 5 ms"));
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (err: SignalFailure) => err.code,
      );
    expect(await codeOf(coalesced(cache, key, 60_000, Date.now, timedOut))).toBe("ERR_SIGNAL_TIMEOUT");
    const neverCalled = () => Promise.resolve("fresh");
    expect(await codeOf(coalesced(cache, key, 60_000, Date.now, neverCalled))).toBe("ERR_SIGNAL_TIMEOUT");
    // Any other failure is the beacon being unavailable.
    const other = "https://edgeflags.internal/test/other";
    expect(
      await codeOf(coalesced(cache, other, 60_000, Date.now, () => Promise.reject(new Error("down")))),
    ).toBe("ERR_SIGNAL_UNAVAILABLE");
  });
});
