/**
 * Loading, inside workerd against a real local KV: single flight on a cold start, background refresh,
 * last-known-good through KV errors, missing keys and bad writes, and the version floor a cold load
 * reads alongside KV.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import { loadKeyRing } from "../../src/snapshot/keys";
import { type Floor, type SnapshotSource, SnapshotStore } from "../../src/snapshot/store";
import { fixtureKeys, harness, publishToKv, snapshot, testEnv } from "./helpers";

/** A KV wrapper that counts reads and can be told to fail or to stall. */
function controllableSource() {
  const state = { reads: 0, fail: false, stall: undefined as Promise<void> | undefined };
  const wrap = (env: Env): SnapshotSource => ({
    async get(key, options) {
      state.reads++;
      if (state.stall) await state.stall;
      if (state.fail) throw new Error("KV is unavailable");
      return env.FLAGS.get(key, options);
    },
  });
  return { state, wrap };
}

function clock(start = Date.now()) {
  const c = {
    t: start,
    now: () => c.t,
    advance: (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

async function health(h: ReturnType<typeof harness>) {
  const res = await h.fetch("/healthz");
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("cold start", () => {
  it("reads KV and verifies once however many requests arrive together", async () => {
    await publishToKv(await snapshot({ environment: "cold-1", version: 3 }), "cold-1");
    const src = controllableSource();
    const h = harness({ EDGEFLAGS_ENV: "cold-1" }, { source: src.wrap });
    const responses = await Promise.all(
      Array.from({ length: 25 }, () => h.fetch("/v1/flags?targetingKey=u1")),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(src.state.reads).toBe(1);
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ version: number }>));
    expect(new Set(bodies.map((b) => b.version))).toEqual(new Set([3]));
  });

  it("answers no_snapshot (503, documented body) when KV is empty, and recovers once published", async () => {
    const c = clock();
    const h = harness({ EDGEFLAGS_ENV: "cold-empty" }, { now: c.now });
    const res = await h.fetch("/v1/flags");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({
      error: "no_snapshot",
      message: expect.stringContaining("code defaults"),
    });
    expect((await health(h)).body).toMatchObject({ status: "no_snapshot", version: null, source: "none" });

    await publishToKv(await snapshot({ environment: "cold-empty", version: 1 }), "cold-empty");
    c.advance(1500); // past the cold retry back-off
    expect((await h.fetch("/v1/flags")).status).toBe(200);
  });
});

describe("the load's log line", () => {
  /** A store over a KV double holding `version`, and the lines it writes. */
  async function loggingStore(version: number) {
    const jws = await snapshot({ environment: "cold-log", version });
    const log: Record<string, unknown>[] = [];
    const store = new SnapshotStore({
      source: { get: async () => jws },
      key: "current",
      environment: "cold-log",
      keys: await loadKeyRing({ keys: [fixtureKeys.primary.public] }),
      refreshMs: 10_000,
      log: (e) => log.push(e),
    });
    return { store, loaded: () => log.filter((e) => e.event === "snapshot_loaded") };
  }

  it("goes to a waiting request's waitUntil, written on the next timer tick, not on the answer's path", async () => {
    const { store, loaded } = await loggingStore(5);
    const later: Promise<unknown>[] = [];
    expect((await store.get((p) => later.push(p)))?.payload.version).toBe(5);
    // Served, and nothing written yet: the line waits for the request's background work.
    expect(loaded()).toEqual([]);
    expect(later.length).toBeGreaterThan(0);
    await Promise.all(later);
    expect(loaded()).toEqual([
      expect.objectContaining({ level: "info", version: 5, via: "kv", compile: "deferred" }),
    ]);
  });

  it("is written at once by a load no request waits on", async () => {
    const { store, loaded } = await loggingStore(6);
    await store.refresh();
    expect(loaded()).toEqual([expect.objectContaining({ version: 6, via: "kv" })]);
  });
});

describe("nothing published yet", () => {
  it("is logged once, at info level, not as a failed refresh; /healthz still says no_snapshot", async () => {
    const c = clock();
    const events: Record<string, unknown>[] = [];
    const h = harness({ EDGEFLAGS_ENV: "none-yet" }, { now: c.now, log: (e) => events.push(e) });
    for (let i = 0; i < 3; i++) {
      expect((await h.fetch("/v1/flags")).status).toBe(503);
      c.advance(1500); // past the cold retry back-off: every request re-reads KV
    }
    const { status, body } = await health(h);
    expect(status).toBe(503);
    expect(body).toMatchObject({
      status: "no_snapshot",
      version: null,
      source: "none",
      lastError: { code: "ERR_SNAPSHOT_MISSING" },
    });
    const store = events.filter((e) => String(e.event).startsWith("snapshot_"));
    expect(store).toEqual([
      {
        event: "snapshot_not_published",
        level: "info",
        message: expect.stringContaining("no snapshot published yet"),
      },
    ]);
  });

  it("a real failure before the first load stays a warning (KV unreachable)", async () => {
    const src = controllableSource();
    src.state.fail = true;
    const events: Record<string, unknown>[] = [];
    const h = harness({ EDGEFLAGS_ENV: "none-kv-down" }, { source: src.wrap, log: (e) => events.push(e) });
    expect((await h.fetch("/v1/flags")).status).toBe(503);
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "snapshot_refresh_failed",
        level: "warn",
        code: "ERR_SNAPSHOT_SOURCE",
      }),
    );
    expect(events.map((e) => e.event)).not.toContain("snapshot_not_published");
  });

  it("a key deleted under a served snapshot is a failed refresh, not 'nothing published'", async () => {
    await publishToKv(await snapshot({ environment: "none-deleted", version: 2 }), "none-deleted");
    const c = clock();
    const events: Record<string, unknown>[] = [];
    const h = harness({ EDGEFLAGS_ENV: "none-deleted" }, { now: c.now, log: (e) => events.push(e) });
    expect((await h.fetch("/v1/flags")).status).toBe(200);
    await testEnv.FLAGS.delete("snapshot/none-deleted/current");
    c.advance(15_000);
    await h.fetch("/v1/flags");
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "snapshot_refresh_failed",
        level: "warn",
        code: "ERR_SNAPSHOT_MISSING",
      }),
    );
    expect(events.map((e) => e.event)).not.toContain("snapshot_not_published");
  });
});

describe("last known good", () => {
  it("keeps serving through KV errors and reports them in /healthz", async () => {
    await publishToKv(await snapshot({ environment: "lkg-err", version: 4 }), "lkg-err");
    const src = controllableSource();
    const c = clock();
    const h = harness({ EDGEFLAGS_ENV: "lkg-err" }, { source: src.wrap, now: c.now });
    expect((await h.fetch("/v1/flags")).status).toBe(200);

    src.state.fail = true;
    c.advance(2000);
    const during = await h.fetch("/v1/flags"); // serves from memory, refresh fails in the background
    expect(during.status).toBe(200);
    const { status, body } = await health(h);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: "degraded",
      version: 4,
      source: "last-known-good",
      lastError: { code: "ERR_SNAPSHOT_SOURCE", message: "KV is unavailable" },
    });

    src.state.fail = false;
    c.advance(2000);
    await h.fetch("/v1/flags");
    expect((await health(h)).body).toMatchObject({ status: "ok", source: "fresh", lastError: null });
  });

  it.each([
    ["a tampered snapshot", "ERR_SNAPSHOT_SIGNATURE"],
    ["a snapshot signed by an untrusted key", "ERR_SNAPSHOT_KID_UNKNOWN"],
    ["an older version", "ERR_SNAPSHOT_ROLLBACK"],
    ["garbage", "ERR_SNAPSHOT_MALFORMED"],
    ["a deleted key", "ERR_SNAPSHOT_MISSING"],
  ])("keeps the last good snapshot when KV gets %s", async (what, code) => {
    const environment = `lkg-${code.toLowerCase()}`;
    await publishToKv(await snapshot({ environment, version: 10 }), environment);
    const c = clock();
    const h = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    expect((await h.fetch("/v1/flags")).status).toBe(200);

    if (what === "a tampered snapshot") {
      const [head, , sig] = (await snapshot({ environment, version: 11 })).split(".");
      const other = (await snapshot({ environment, version: 12, flags: { flags: {} } })).split(".")[1];
      await publishToKv(`${head}.${other}.${sig}`, environment);
    } else if (what === "a snapshot signed by an untrusted key") {
      await publishToKv(await snapshot({ environment, version: 11 }, "untrusted"), environment);
    } else if (what === "an older version") {
      await publishToKv(await snapshot({ environment, version: 9 }), environment);
    } else if (what === "garbage") {
      await publishToKv("this is not a snapshot", environment);
    } else {
      await testEnv.FLAGS.delete(`snapshot/${environment}/current`);
    }
    c.advance(2000);
    const res = await h.fetch("/v1/flags?targetingKey=u");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { version: number }).version).toBe(10);
    expect((await health(h)).body).toMatchObject({
      version: 10,
      source: "last-known-good",
      lastError: { code },
    });
  });

  it("moves to a newer good snapshot on the next background refresh", async () => {
    await publishToKv(await snapshot({ environment: "lkg-new", version: 1 }), "lkg-new");
    const c = clock();
    const h = harness({ EDGEFLAGS_ENV: "lkg-new" }, { now: c.now });
    await h.fetch("/v1/flags");
    await publishToKv(await snapshot({ environment: "lkg-new", version: 2 }), "lkg-new");
    await h.fetch("/v1/flags"); // not due yet: still 1
    expect((await health(h)).body.version).toBe(1);
    c.advance(1500);
    await h.fetch("/v1/flags"); // due: refresh runs in waitUntil
    expect((await health(h)).body).toMatchObject({ version: 2, source: "fresh" });
  });
});

describe("warm requests", () => {
  it("never wait for a background refresh", async () => {
    await publishToKv(await snapshot({ environment: "warm", version: 1 }), "warm");
    const src = controllableSource();
    const c = clock();
    const app = createApp({ source: src.wrap, now: c.now, log: () => {} });
    const bindings = { ...testEnv, EDGEFLAGS_ENV: "warm" } as Env;
    const call = async () => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request("https://flags.example.test/v1/flags?targetingKey=u"),
        bindings,
        ctx,
      );
      return { res, ctx };
    };
    const first = await call();
    await waitOnExecutionContext(first.ctx);

    let release!: () => void;
    src.state.stall = new Promise((r) => {
      release = r;
    });
    c.advance(2000);
    const { res, ctx } = await call(); // resolves although the refresh it started is stalled
    expect(res.status).toBe(200);
    expect(src.state.reads).toBe(2);
    release();
    await waitOnExecutionContext(ctx);
  });
});

describe("the version floor on a cold load", () => {
  const keys = loadKeyRing({ keys: [fixtureKeys.primary.public] });
  const waitUntil = () => {};

  /** A store over `kv`, whose floor comes from `floor` (both test doubles). */
  async function store(
    kv: SnapshotSource,
    floor: { read: (...args: never[]) => Promise<Floor | null> },
    now = Date.now,
  ) {
    return new SnapshotStore({
      source: kv,
      key: "current",
      environment: "test",
      keys: await keys,
      refreshMs: 10_000,
      now,
      floor: { read: floor.read, fetch: () => Promise.reject(new Error("no copy")) },
    });
  }

  it("reads the floor in parallel with KV, not after it", async () => {
    // Each read waits until the other has started: run one after the other, they would never finish.
    let kvStarted!: () => void;
    let floorStarted!: () => void;
    const kvGo = new Promise<void>((r) => {
      kvStarted = r;
    });
    const floorGo = new Promise<void>((r) => {
      floorStarted = r;
    });
    const jws = await snapshot({ version: 2 });
    const s = await store(
      {
        async get() {
          kvStarted();
          await floorGo;
          return jws;
        },
      },
      {
        async read() {
          floorStarted();
          await kvGo;
          return { version: 2, announcedAt: Date.now(), held: false };
        },
      },
    );
    expect((await s.get(waitUntil))?.payload.version).toBe(2);
    expect(s.status().floor).toMatchObject({ version: 2 });
  });

  it("hands the request's waitUntil to the floor read, so the cache writes do not delay the load", async () => {
    const jws = await snapshot({ version: 2 });
    const given: unknown[] = [];
    const kept: Promise<unknown>[] = [];
    const keep = (p: Promise<unknown>) => {
      kept.push(p);
    };
    const s = await store(
      { get: async () => jws },
      {
        read: async (...args: unknown[]) => {
          given.push(args[1]);
          return { version: 2, announcedAt: Date.now(), held: false };
        },
      },
    );
    expect((await s.get(keep))?.payload.version).toBe(2);
    expect(given).toEqual([keep]);
  });

  it("checks the KV copy (signature, shape, compile) while the floor is still being read", async () => {
    // The floor answers only once the KV copy's signer key was looked up, i.e. once its check began:
    // waiting for the floor before checking, the load would never finish.
    const ring = await keys;
    let checking!: () => void;
    const checkStarted = new Promise<void>((r) => {
      checking = r;
    });
    const spying = Object.assign(new Map([...ring].map(([kid, key]) => [kid, key])), { policy: ring.policy });
    const get = spying.get.bind(spying);
    spying.get = (kid: string) => {
      checking();
      return get(kid);
    };
    const jws = await snapshot({ version: 3 });
    const s = new SnapshotStore({
      source: { get: async () => jws },
      key: "current",
      environment: "test",
      keys: spying,
      refreshMs: 10_000,
      floor: {
        read: async () => {
          await checkStarted;
          return { version: 2, announcedAt: Date.now(), held: false };
        },
        fetch: () => Promise.reject(new Error("no copy")),
      },
    });
    expect((await s.get(waitUntil))?.payload.version).toBe(3);
    expect(s.status()).toMatchObject({ source: "fresh", floor: { version: 2 } });
  });

  it("a KV copy checked early is still refused below the floor, with the rollback alarm", async () => {
    const events: Record<string, unknown>[] = [];
    const jws = await snapshot({ version: 2 });
    const s = new SnapshotStore({
      source: { get: async () => jws },
      key: "current",
      environment: "test",
      keys: await keys,
      refreshMs: 10_000,
      log: (e) => events.push(e),
      // Announced long ago: KV's propagation cannot explain an older copy any more.
      floor: {
        read: async () => ({ version: 5, announcedAt: Date.now() - 3_600_000, held: false }),
        fetch: () => Promise.reject(new Error("no copy")),
      },
    });
    expect(await s.get(waitUntil)).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "snapshot_rollback_refused",
        code: "ERR_SNAPSHOT_ROLLBACK",
        message: "snapshot version 2 is not newer than version 5",
      }),
    );
  });

  it("a warm store reads no floor itself (the signal's checks keep it)", async () => {
    let floorReads = 0;
    const jws = await snapshot({ version: 2 });
    let t = Date.now();
    const s = await store(
      { get: async () => jws },
      {
        async read() {
          floorReads++;
          return null;
        },
      },
      () => t,
    );
    await s.get(waitUntil);
    t += 20_000;
    await s.get(waitUntil);
    await s.refresh();
    expect(floorReads).toBe(1);
  });
});
