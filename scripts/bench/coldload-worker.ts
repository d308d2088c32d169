/**
 * Benchmark-only worker: GET /?key=K&times=N reads snapshot K from KV and verifies + compiles it N
 * times (a full reload each time, inside an isolate that is already warm), so the caller can time
 * reloads inside real workerd from outside. Not a cold start: scripts/bench/cold.ts measures those.
 * With `&policy=1` the reload runs under EDGEFLAGS_POLICY, counting the snapshot's approvals.
 */
import { loadKeyRing } from "../../src/snapshot/keys";
import { verifySnapshot } from "../../src/snapshot/verify";

interface BenchEnv {
  FLAGS: KVNamespace;
  EDGEFLAGS_PUBLIC_KEYS: string;
  /** A trust policy (JSON): ?policy=1 verifies under it (approvals counted on every reload). */
  EDGEFLAGS_POLICY?: string;
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const key = url.searchParams.get("key") ?? "";
    const times = Number(url.searchParams.get("times") ?? "1");
    const policy = url.searchParams.get("policy") === "1" ? env.EDGEFLAGS_POLICY : undefined;
    const keys = await loadKeyRing(env.EDGEFLAGS_PUBLIC_KEYS, policy);
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
