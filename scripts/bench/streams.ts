/**
 * Notification latency of event streams (GET /v1/events): the time from a publish (PUT /v1/snapshot
 * sent) to the change notification arriving on an open stream, in one Miniflare running the worker
 * as two isolates that share KV and the beacon. "same isolate": the stream is on the isolate that
 * takes the publish (the intake installs it at once). "other isolate": the stream is on an isolate
 * with no other traffic and KV refreshes once a minute, so only its own version signal, kept
 * checking by the stream, can bring the publish (SIGNAL_INTERVAL_SECONDS=2). Publishes come at random
 * phases. I/O: Miniflare on 127.0.0.1.
 */

import { bannerDoc } from "../lib/banner-doc";
import { startLocalIsolates } from "../lib/local-worker";
import { BENCH_TOKEN, ephemeralSigner, publishTo } from "../lib/snapshots";
import { openSse } from "../lib/sse-client";
import { percentile } from "../lib/stats";

const ENV = "bench";
const PUBLISHES = 24;

export async function run(): Promise<void> {
  const signer = await ephemeralSigner();
  const isolates = await startLocalIsolates(["near", "far"], (name) => ({
    EDGEFLAGS_ENV: ENV,
    EDGEFLAGS_PUBLIC_KEYS: signer.jwks,
    PUBLISH_TOKEN: BENCH_TOKEN,
    REFRESH_INTERVAL_SECONDS: name === "far" ? "60" : "10",
  }));
  const near = isolates.urls.near as string;
  const far = isolates.urls.far as string;
  try {
    let version = 1;
    await publishTo(`${near}/v1/snapshot`, await signer.sign(bannerDoc(true), { environment: ENV, version }));
    const streams = {
      same: await openSse(`${near}/v1/events`, { "last-event-id": "1" }),
      other: await openSse(`${far}/v1/events`, { "last-event-id": "1" }),
    };
    const ms: Record<keyof typeof streams, number[]> = { same: [], other: [] };
    for (let i = 0; i < PUBLISHES; i++) {
      // A random phase of the other isolate's 2 s check cycle.
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 2000));
      version++;
      const jws = await signer.sign(bannerDoc(version % 2 === 0), { environment: ENV, version });
      const id = String(version);
      const t0 = performance.now();
      const arrivals = (Object.keys(streams) as (keyof typeof streams)[]).map(async (name) => {
        await streams[name].next((item) => item.id === id && item.data !== undefined, 10_000);
        ms[name].push(performance.now() - t0);
      });
      await publishTo(`${near}/v1/snapshot`, jws);
      await Promise.all(arrivals);
    }
    for (const s of Object.values(streams)) s.close();
    const row = (label: string, xs: number[]) =>
      `${label.padEnd(16)} p50 ${percentile(xs, 50).toFixed(0).padStart(5)} ms   p95 ${percentile(xs, 95)
        .toFixed(0)
        .padStart(5)} ms   max ${Math.max(...xs)
        .toFixed(0)
        .padStart(5)} ms   (${xs.length} publishes)`;
    console.log(
      "publish (PUT sent) -> refetchEvaluation received on an open stream, SIGNAL_INTERVAL_SECONDS=2:",
    );
    console.log(row("same isolate", ms.same));
    console.log(row("other isolate", ms.other));
  } finally {
    await isolates.dispose();
  }
}
