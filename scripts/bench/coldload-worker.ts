/**
 * Benchmark-only worker: GET /?key=K&times=N reads snapshot K from KV and verifies + compiles it N
 * times (a full reload each time, inside an isolate that is already warm), so the caller can time
 * reloads inside real workerd from outside. Not a cold start: scripts/bench/cold.ts measures those.
 */
import { loadKeyRing } from "../../src/snapshot/keys";
import { verifySnapshot } from "../../src/snapshot/verify";

interface BenchEnv {
  FLAGS: KVNamespace;
  EDGEFLAGS_PUBLIC_KEYS: string;
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const key = url.searchParams.get("key") ?? "";
    const times = Number(url.searchParams.get("times") ?? "1");
    const keys = await loadKeyRing(env.EDGEFLAGS_PUBLIC_KEYS);
    let flags = 0;
    for (let i = 0; i < times; i++) {
      const jws = await env.FLAGS.get(key, "text");
      if (jws === null) return new Response("missing", { status: 404 });
      const verified = await verifySnapshot(jws, {
        keys,
        environment: "bench",
        now: Date.now(),
        maxBytes: 64 << 20,
      });
      flags = verified.compiled.keys.length;
    }
    return Response.json({ flags, times });
  },
};
