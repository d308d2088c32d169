/**
 * HTTP benchmark through local workerd (Miniflare): GET /v1/flags and OFREP bulk for the 100-flag
 * scenario, next to a bare Hono hello-world worker measured in the same run; plus cold-load cost
 * (KV read + verify + parse + shape check + compile) for 100 / 1,000 / 10,000 flags, inside workerd and
 * broken down in Node. I/O: loopback HTTP only.
 */
import { compactVerify } from "jose";
import { compile } from "../../src/eval/index";
import { checkShape } from "../../src/flags/shape.generated";
import { loadKeyRing } from "../../src/snapshot/keys";
import { verifySnapshot } from "../../src/snapshot/verify";
import { type LoadOptions, pickLoadTool, runLoadWith } from "../lib/loadgen";
import { startLocalWorker } from "../lib/local-worker";
import { ephemeralSigner } from "../lib/snapshots";
import { betaIds, scenarioDoc } from "./scenario";

const ROUNDS = 3;
const DURATION_MS = 3000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function throughput(jwks: string, jws: string): Promise<void> {
  const bindings = { EDGEFLAGS_ENV: "bench", EDGEFLAGS_PUBLIC_KEYS: jwks, PUBLISH_TOKEN: "bench-token" };
  const [edge, hello] = await Promise.all([
    startLocalWorker({ bindings, cf: { country: "DE", continent: "EU" } }),
    startLocalWorker({ entry: "scripts/bench/hello-worker.ts" }),
  ]);
  try {
    const put = await fetch(`${edge.url}/v1/snapshot`, {
      method: "PUT",
      headers: { authorization: "Bearer bench-token", "content-type": "application/jose" },
      body: jws,
    });
    if (put.status !== 201) throw new Error(`publish failed: ${put.status} ${await put.text()}`);
    const flagsUrl = `${edge.url}/v1/flags?targetingKey=user-42&plan=pro`;
    const etag = (await fetch(flagsUrl)).headers.get("etag") as string;
    const ofrepBody = JSON.stringify({ context: { targetingKey: "user-42", plan: "pro" } });
    const scenarios: (LoadOptions & { name: string; baseline?: boolean })[] = [
      { name: "hello-world Hono worker (baseline)", url: `${hello.url}/`, baseline: true },
      { name: "GET /v1/flags (100 flags)", url: flagsUrl },
      {
        name: "GET /v1/flags, If-None-Match -> 304",
        url: flagsUrl,
        headers: { "if-none-match": etag },
        expectStatus: 304,
      },
      {
        name: "POST /ofrep/v1/evaluate/flags (bulk)",
        url: `${edge.url}/ofrep/v1/evaluate/flags`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ofrepBody,
      },
    ];
    const tool = await pickLoadTool();
    // Latency is measured on one connection (no queueing: the time one request takes), throughput
    // on eight (the machine saturated); under saturation p50 only mirrors throughput.
    const results = new Map<string, { rps: number[]; p50: number[]; p99: number[]; errors: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of scenarios) {
        const lat = await runLoadWith("node", { ...s, durationMs: DURATION_MS, connections: 1 });
        const thr = await runLoadWith(tool, { ...s, durationMs: DURATION_MS, connections: 8 });
        const acc = results.get(s.name) ?? { rps: [], p50: [], p99: [], errors: 0 };
        acc.rps.push(thr.rps);
        acc.p50.push(lat.p50us);
        acc.p99.push(lat.p99us);
        acc.errors += lat.errors + thr.errors;
        results.set(s.name, acc);
      }
    }
    const base = results.get(scenarios[0]!.name)!;
    const baseRps = median(base.rps);
    const baseP50 = median(base.p50);
    console.log(
      `latency: 1 connection, Node load generator (per-request microsecond clock); throughput: 8 connections, ${tool === "wrk" ? "wrk" : "Node load generator (install wrk for the recorded figures)"}; ${DURATION_MS / 1000} s each, ${ROUNDS} interleaved rounds, medians\n`,
    );
    console.log(
      `${"scenario".padEnd(40)} ${"req/s".padStart(8)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)}  vs baseline (p50, req/s)`,
    );
    for (const s of scenarios) {
      const r = results.get(s.name)!;
      const rps = median(r.rps);
      const p50 = median(r.p50);
      const ratio = s.baseline ? "" : `  ${(p50 / baseP50).toFixed(2)}x, ${(baseRps / rps).toFixed(2)}x`;
      const errs = r.errors > 0 ? `  (${r.errors} errors)` : "";
      console.log(
        `${s.name.padEnd(40)} ${Math.round(rps).toString().padStart(8)} ${Math.round(p50).toString().padStart(8)} ${Math.round(median(r.p99)).toString().padStart(8)}${ratio}${errs}`,
      );
    }
  } finally {
    await Promise.all([edge.dispose(), hello.dispose()]);
  }
}

async function coldLoadInWorkerd(jwks: string, snapshots: Map<number, string>): Promise<void> {
  const w = await startLocalWorker({
    entry: "scripts/bench/coldload-worker.ts",
    bindings: { EDGEFLAGS_PUBLIC_KEYS: jwks },
  });
  try {
    const kv = await w.mf.getKVNamespace("FLAGS");
    for (const [n, jws] of snapshots) await kv.put(`snap-${n}`, jws);
    console.log("\ncold load inside workerd (KV read + verify + parse + shape check + compile), per load:");
    for (const [n, jws] of snapshots) {
      const times = n >= 10_000 ? 5 : 20;
      const timeCall = async (t: number) => {
        const t0 = performance.now();
        const res = await fetch(`${w.url}/?key=snap-${n}&times=${t}`);
        if (!res.ok) throw new Error(await res.text());
        await res.arrayBuffer();
        return performance.now() - t0;
      };
      await timeCall(times); // warm the isolate and the code
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) runs.push(((await timeCall(times)) - (await timeCall(0))) / times);
      const kb = (jws.length / 1024).toFixed(0);
      console.log(
        `  ${String(n).padStart(6)} flags (${kb.padStart(5)} KB snapshot): ${median(runs).toFixed(2)} ms`,
      );
    }
  } finally {
    await w.dispose();
  }
}

async function coldLoadBreakdown(jwks: string, snapshots: Map<number, string>): Promise<void> {
  const keys = await loadKeyRing(jwks);
  const key = keys.get("bench")!.key;
  console.log("\ncold load breakdown in Node (same code), median of 9, ms:");
  console.log(
    `  ${"flags".padStart(6)}  ${"signature".padStart(9)}  ${"JSON.parse".padStart(10)}  ${"shape".padStart(8)}  ${"compile".padStart(7)}  ${"total".padStart(6)}`,
  );
  for (const [n, jws] of snapshots) {
    const parts = {
      sig: [] as number[],
      parse: [] as number[],
      shape: [] as number[],
      compile: [] as number[],
      total: [] as number[],
    };
    for (let i = 0; i < 9; i++) {
      let t = performance.now();
      const { payload } = await compactVerify(jws, key);
      parts.sig.push(performance.now() - t);
      t = performance.now();
      const parsed = JSON.parse(new TextDecoder().decode(payload));
      parts.parse.push(performance.now() - t);
      t = performance.now();
      const problem = checkShape(parsed.flags);
      parts.shape.push(performance.now() - t);
      t = performance.now();
      if (problem === undefined) compile(parsed.flags);
      parts.compile.push(performance.now() - t);
      t = performance.now();
      await verifySnapshot(jws, { keys, environment: "bench", now: Date.now(), maxBytes: 64 << 20 });
      parts.total.push(performance.now() - t);
    }
    const f = (xs: number[], w: number) => median(xs).toFixed(2).padStart(w);
    console.log(
      `  ${String(n).padStart(6)}  ${f(parts.sig, 9)}  ${f(parts.parse, 10)}  ${f(parts.shape, 8)}  ${f(parts.compile, 7)}  ${f(parts.total, 6)}`,
    );
  }
}

export async function run(): Promise<void> {
  const { jwks, sign } = await ephemeralSigner();
  const snapshots = new Map<number, string>();
  for (const n of [100, 1_000, 10_000]) {
    snapshots.set(n, await sign(scenarioDoc(n, betaIds()), { environment: "bench", version: 1 }));
  }
  await throughput(jwks, snapshots.get(100)!);
  await coldLoadInWorkerd(jwks, snapshots);
  await coldLoadBreakdown(jwks, snapshots);
}
