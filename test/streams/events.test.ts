/**
 * GET /v1/events and what goes with it, against the worker in workerd (Miniflare) on 127.0.0.1:
 * OFREP's `eventStreams` advertisement, the stream's headers and CORS, notifications carrying the
 * version, Last-Event-ID on reconnect (never an older version), heartbeats, the stream's lifetime,
 * the per-isolate limit (503 too_many_streams), and, across two isolates sharing KV and the beacon,
 * a stream woken by its own isolate's signal and a re-fetch that is never answered from an older
 * version (a rollback is a newer version). Browser-side checks are in test/browser/streams.test.ts.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bannerDoc } from "../../scripts/lib/banner-doc";
import {
  type LocalIsolates,
  type LocalWorker,
  startLocalIsolates,
  startLocalWorker,
} from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import { dataOf, openSse, type SseReader } from "../../scripts/lib/sse-client";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const TOKEN = "events-token";

function bindings(environment: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EDGEFLAGS_ENV: environment,
    EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
    PUBLISH_TOKEN: TOKEN,
    ...extra,
  };
}

async function publish(url: string, environment: string, version: number, enabled = true): Promise<void> {
  const jws = await signSnapshot(
    snapshotPayload(bannerDoc(enabled), { environment, version }),
    await importSigningKey(keys.primary.private),
  );
  await publishTo(`${url}/v1/snapshot`, jws, TOKEN);
}

const bulk = (url: string, query = "") =>
  fetch(`${url}/ofrep/v1/evaluate/flags${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ context: { targetingKey: "user-1" } }),
  });

const notification = (version: number) => (item: { id?: string; data?: string }) =>
  item.id === String(version) && item.data !== undefined;

describe("one isolate", () => {
  let worker: LocalWorker;
  let limited: LocalWorker;
  let off: LocalWorker;
  const open: SseReader[] = [];
  const sse = async (url: string, headers?: Record<string, string>) => {
    const reader = await openSse(url, headers);
    open.push(reader);
    return reader;
  };

  beforeAll(async () => {
    [worker, limited, off] = await Promise.all([
      startLocalWorker({
        bindings: bindings("one", { STREAM_HEARTBEAT_SECONDS: "1", STREAM_MAX_SECONDS: "3" }),
      }),
      startLocalWorker({
        bindings: bindings("limited", { STREAMS_MAX_PER_ISOLATE: "2", STREAM_HEARTBEAT_SECONDS: "1" }),
      }),
      startLocalWorker({ bindings: bindings("off", { STREAMS_MAX_PER_ISOLATE: "0" }) }),
    ]);
    await Promise.all([
      publish(worker.url, "one", 1),
      publish(limited.url, "limited", 1),
      publish(off.url, "off", 1),
    ]);
  }, 30_000);

  afterAll(async () => {
    for (const r of open) r.close();
    await Promise.all([worker?.dispose(), limited?.dispose(), off?.dispose()]);
  });

  it("OFREP bulk evaluation advertises the stream as eventStreams; turned off, neither exists", async () => {
    const body = (await (await bulk(worker.url)).json()) as Record<string, unknown>;
    expect(body.eventStreams).toEqual([{ type: "sse", endpoint: { requestUri: "/v1/events" } }]);
    const none = (await (await bulk(off.url)).json()) as Record<string, unknown>;
    expect(none).not.toHaveProperty("eventStreams");
    const res = await fetch(`${off.url}/v1/events`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found", message: "event streams are turned off" });
  });

  it("streams text/event-stream with CORS, then a notification carrying the version within a second of a publish", async () => {
    const s = await sse(`${worker.url}/v1/events`, { origin: "https://app.example" });
    expect(s.response.status).toBe(200);
    expect(s.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(s.response.headers.get("cache-control")).toBe("no-store, no-transform");
    expect(s.response.headers.get("access-control-allow-origin")).toBe("*");
    const first = await s.next(() => true);
    expect(first.retry).toBeGreaterThanOrEqual(1000);
    expect(first.retry).toBeLessThanOrEqual(3000);
    const t0 = Date.now();
    await publish(worker.url, "one", 2, false);
    const event = await s.next(notification(2), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(dataOf(event)).toMatchObject({ type: "refetchEvaluation", etag: "2", version: 2 });
    expect(typeof dataOf(event).lastModified).toBe("number");
  });

  it("a reconnecting client (Last-Event-ID) hears of a newer version at once, never of an older one", async () => {
    const behind = await sse(`${worker.url}/v1/events`, { "last-event-id": "1" });
    expect(dataOf(await behind.next(notification(2), 1000))).toMatchObject({ version: 2 });
    // It saw a newer version elsewhere (another isolate): this one has nothing newer to say.
    const ahead = await sse(`${worker.url}/v1/events`, { "last-event-id": "7" });
    await ahead.next((i) => i.comment === "ping", 3000);
    expect(ahead.items.filter((i) => i.data !== undefined)).toEqual([]);
  });

  it("sends heartbeat comments and ends after STREAM_MAX_SECONDS (the client then reconnects)", async () => {
    const s = await sse(`${worker.url}/v1/events`, { "last-event-id": "2" });
    const beat = await s.next((i) => i.comment === "ping", 3000);
    expect(beat.at).toBeGreaterThanOrEqual(900);
    const t0 = Date.now();
    await s.ended;
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it(
    "answers 503 too_many_streams with Retry-After past STREAMS_MAX_PER_ISOLATE, and frees a place when a client goes",
    { timeout: 15_000 },
    async () => {
      const a = await sse(`${limited.url}/v1/events`);
      await sse(`${limited.url}/v1/events`);
      const refused = await fetch(`${limited.url}/v1/events`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("10");
      expect(await refused.json()).toEqual({
        error: "too_many_streams",
        message: "this location holds all the event streams it may; retry later",
      });
      a.close();
      // A stream whose loop stopped running is dropped after three missed heartbeats (1 s here) and a second.
      const t0 = Date.now();
      let status = 0;
      while (status !== 200 && Date.now() - t0 < 7000) {
        await new Promise((r) => setTimeout(r, 200));
        const res = await fetch(`${limited.url}/v1/events`);
        status = res.status;
        await res.body?.cancel();
      }
      expect(status).toBe(200);
    },
  );
});

describe("two isolates sharing KV and the beacon", () => {
  let isolates: LocalIsolates;
  const ENV = "pair";

  beforeAll(async () => {
    // "far" refreshes from KV only every minute: whatever reaches it in seconds came by the signal.
    isolates = await startLocalIsolates(["near", "far"], (name) =>
      bindings(ENV, name === "far" ? { REFRESH_INTERVAL_SECONDS: "60" } : {}),
    );
    await publish(isolates.urls.near as string, ENV, 1);
  }, 30_000);

  afterAll(() => isolates?.dispose());

  it("a stream on an isolate with no other traffic hears of a publish elsewhere within the signal's bound", async () => {
    const far = isolates.urls.far as string;
    const s = await openSse(`${far}/v1/events`, { "last-event-id": "1" });
    try {
      await s.next(() => true);
      const t0 = Date.now();
      await publish(isolates.urls.near as string, ENV, 2, false);
      // SIGNAL_INTERVAL_SECONDS=2: at most one interval plus half of one (docs/propagation.md), plus the fetch.
      await s.next(notification(2), 4000);
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      s.close();
    }
  });

  it("a re-fetch naming a version the isolate does not serve yet gets that version (a rollback), a made-up one the newest", async () => {
    const near = isolates.urls.near as string;
    const far = isolates.urls.far as string;
    // "far" serves 2 (killed). Version 3 rolls back to the banner on, published on "near".
    await bulk(far);
    await publish(near, ENV, 3, true);
    const res = await bulk(far, "?flagConfigEtag=3");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      flags: { key: string; value: unknown }[];
      metadata: { version: number };
    };
    expect(body.metadata.version).toBe(3);
    expect(body.flags).toEqual([{ key: "banner", value: true, reason: "STATIC", variant: "on" }]);
    // /v1/flags takes the same parameter, and it is no client attribute.
    await publish(near, ENV, 4, false);
    const plain = await fetch(`${far}/v1/flags?targetingKey=u&flagConfigEtag=4`);
    expect(await plain.json()).toEqual({ version: 4, flags: { banner: false } });
    // Nothing that new was announced: the newest there is, at once.
    const t0 = Date.now();
    const made = await bulk(far, "?flagConfigEtag=999");
    expect(made.status).toBe(200);
    expect(((await made.json()) as { metadata: { version: number } }).metadata.version).toBe(4);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
