/**
 * Cold start: a fresh workerd process per run (a new Miniflare instance spawns its own workerd and
 * dispose() kills it; the section checks that every run's workerd pid is new and gone afterwards),
 * the worker with a signed 1,000-flag snapshot already in KV, against the hello-world worker started
 * the same way in the same run. Per run: start-up (Miniflare constructed -> ready) and the latency of
 * the first request once ready, as the client sees it, then a second request for context. Runs are
 * interleaved (worker, hello-world; the order alternates) so both share the machine's noise.
 *
 * KV is seeded once, before the runs, by publishing through the worker's intake in a throwaway
 * process with persisted KV; each run starts from its own copy of that folder, so the first request a
 * timed worker isolate ever sees is the timed GET /v1/flags. I/O: a temporary folder, loopback HTTP.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, type LocalWorkerOptions, startLocalWorker } from "../lib/local-worker";
import { BENCH_TOKEN, ephemeralSigner, publishTo } from "../lib/snapshots";
import { median, percentile } from "../lib/stats";
import { betaIds, scenarioDoc } from "./scenario";

const RUNS = 7;
const FLAGS = 1_000;
const HELLO = "scripts/bench/hello-worker.ts";

interface Sample {
  startMs: number;
  firstMs: number;
  secondMs: number;
  pid: number;
}

/** Pids of this process's workerd children (Miniflare spawns workerd directly). */
function workerdChildren(): Set<number> {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  } catch {
    return new Set(); // ps exits 1 when there are no children
  }
  const pids = new Set<number>();
  for (const line of out.split("\n")) {
    const [pid, comm] = line.trim().split(/\s+/);
    if (pid && comm?.includes("workerd")) pids.add(Number(pid));
  }
  return pids;
}

/** FNV-1a over the body's bytes, so that every answer is read in full and checked. */
function checksum(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

async function timedGet(url: string): Promise<{ ms: number; status: number; sum: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - t0;
  return { ms, status: res.status, sum: checksum(body), bytes: body.length };
}

const seenPids = new Set<number>();
const checksums = new Map<string, Set<number>>();

async function oneRun(name: string, options: LocalWorkerOptions, path: string): Promise<Sample> {
  const before = workerdChildren();
  const t0 = performance.now();
  const w = await startLocalWorker(options); // bundle already built: this is construction -> ready
  const startMs = performance.now() - t0;
  let sample: Sample;
  try {
    const fresh = [...workerdChildren()].filter((p) => !before.has(p));
    if (fresh.length !== 1 || seenPids.has(fresh[0]!)) {
      throw new Error(`${name}: expected one new workerd process, found ${fresh.join(",") || "none"}`);
    }
    const pid = fresh[0]!;
    seenPids.add(pid);
    const first = await timedGet(`${w.url}${path}`);
    const second = await timedGet(`${w.url}${path}`);
    for (const r of [first, second]) {
      if (r.status !== 200) throw new Error(`${name}: ${path} answered ${r.status}`);
      const sums = checksums.get(name) ?? new Set<number>();
      sums.add(r.sum);
      checksums.set(name, sums);
    }
    sample = { startMs, firstMs: first.ms, secondMs: second.ms, pid };
  } finally {
    await w.dispose();
  }
  // dispose() resolves once workerd has exited; check, so no run reuses a runtime.
  const left = workerdChildren();
  for (const p of seenPids) if (left.has(p)) throw new Error(`${name}: workerd ${p} still running`);
  return sample;
}

/** One untimed fetch from this Node process, so neither side pays for the client's first request. */
async function warmClient(): Promise<void> {
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await (await fetch(`http://127.0.0.1:${port}/`)).text();
  await new Promise<void>((r) => server.close(() => r()));
}

export async function run(): Promise<void> {
  const { jwks, sign } = await ephemeralSigner();
  const jws = await sign(scenarioDoc(FLAGS, betaIds()), { environment: "bench", version: 1 });
  const bindings = { EDGEFLAGS_ENV: "bench", EDGEFLAGS_PUBLIC_KEYS: jwks, PUBLISH_TOKEN: BENCH_TOKEN };
  await Promise.all([bundleWorker(), bundleWorker(HELLO)]);
  await warmClient();

  const dir = mkdtempSync(join(tmpdir(), "edgeflags-cold-"));
  try {
    const template = join(dir, "kv-template");
    const seeder = await startLocalWorker({ bindings, kvPersist: template });
    try {
      await publishTo(`${seeder.url}/v1/snapshot`, jws);
    } finally {
      await seeder.dispose();
    }

    const path = "/v1/flags?targetingKey=u1";
    const edge: Sample[] = [];
    const hello: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const kvPersist = join(dir, `kv-${i}`);
      cpSync(template, kvPersist, { recursive: true });
      const runEdge = async () => edge.push(await oneRun("worker", { bindings, kvPersist }, path));
      const runHello = async () => hello.push(await oneRun("hello", { entry: HELLO }, path));
      if (i % 2 === 0) {
        await runEdge();
        await runHello();
      } else {
        await runHello();
        await runEdge();
      }
    }
    for (const [name, sums] of checksums) {
      if (sums.size !== 1) throw new Error(`${name}: answers differ between runs (${sums.size} bodies)`);
    }

    const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);
    const x = (v: number) => `${v.toFixed(2)}x`;
    console.log(
      `${RUNS} runs, each a new workerd process (pids all distinct, each gone after dispose); ` +
        `worker with ${FLAGS.toLocaleString("en")} flags in KV (${(jws.length / 1024).toFixed(0)} KB snapshot) ` +
        `vs hello-world, interleaved; first request = GET ${path} once ready, from Node\n`,
    );
    console.log(
      `${"".padEnd(28)} ${"worker p50".padStart(10)} ${"p90".padStart(9)} ${"hello p50".padStart(10)} ${"p90".padStart(9)}  ratio p50 (per-run ratios: median [range])`,
    );
    const row = (label: string, pick: (s: Sample) => number) => {
      const e = edge.map(pick);
      const h = hello.map(pick);
      const per = e.map((v, i) => v / h[i]!);
      console.log(
        `${label.padEnd(28)} ${ms(median(e)).padStart(10)} ${ms(percentile(e, 90))} ${ms(median(h)).padStart(10)} ${ms(percentile(h, 90))}  ${x(median(e) / median(h))} (${x(median(per))} [${x(Math.min(...per))}-${x(Math.max(...per))}])`,
      );
    };
    row("start-up to ready", (s) => s.startMs);
    row("first request", (s) => s.firstMs);
    row("second request (context)", (s) => s.secondMs);
    console.log(
      `\nper run, ms (start-up / first / second): worker ${edge.map((s) => `${s.startMs.toFixed(0)}/${s.firstMs.toFixed(1)}/${s.secondMs.toFixed(1)}`).join("  ")}`,
    );
    console.log(
      `                                         hello  ${hello.map((s) => `${s.startMs.toFixed(0)}/${s.firstMs.toFixed(1)}/${s.secondMs.toFixed(1)}`).join("  ")}`,
    );
    console.log(
      "\ntargets: first request <= 3x hello-world's; start-up to ready within 1.2x of hello-world's",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
