/**
 * Cold start: a fresh workerd process per run (a new Miniflare instance spawns its own workerd and
 * dispose() kills it; the section checks that every run's workerd pid is new and gone afterwards),
 * the worker with a signed 1,000-flag snapshot already in KV, against the hello-world worker started
 * the same way in the same run. Both are bundled and minified as `wrangler deploy` does (wrangler.toml
 * sets `minify`) and handed to Miniflare as explicit modules, as wrangler does: given only a script
 * path, Miniflare parses the bundle in Node with acorn to find its imports, ~100 ms that no edge
 * isolate pays. Per run: start-up, timed from when workerd is spawned to ready (Miniflare's whole
 * construction -> ready is printed too; see `spawns`), and the latency of the first request once
 * ready, as the client sees it, then a second request for context (sent as soon as the first answer
 * is read: when a cold load defers its compile, src/eval/first.ts, this one meets the compile's
 * slices). Runs are interleaved (the order rotates) so all share the machine's noise.
 *
 * Three cold workers per run (a third, "one flag", is platform warm with GET /v1/flags/:key):
 * - "all cold": the worker alone, as `npm start` runs it: its beacon (a Durable Object of the same
 *   script, so in the same isolate) and the local KV simulator start with the process, and the first
 *   request waits for both to come up.
 * - "platform warm": what a new isolate meets on the edge, where KV and the location's cache are
 *   services of the platform and the beacon is one object per environment that every isolate polls:
 *   the beacon runs in a second worker of the same process and is read once from Node before the
 *   timed request, and the KV and Cache API simulators (JavaScript workers of Miniflare's, cold in a
 *   new process, where the edge's are native and always up) each serve one unrelated request first.
 *   None of these runs the timed worker's isolate, whose first request is still the first it ever sees.
 *
 * Two reference rows: the hello-world worker with the worker's bindings (FLAGS, and a do-nothing
 * Durable Object as BEACON; scripts/bench/hello-bindings-worker.ts), for start-up; and the hello-world
 * worker plus one KV read of the same snapshot (scripts/bench/
 * kv-read-worker.ts; KV simulator warmed likewise), the floor under any first answer that reads its
 * snapshot from KV.
 *
 * KV is seeded once, before the runs, by publishing through the worker's intake in a throwaway
 * process with persisted KV; each run starts from its own copy of that folder. I/O: a temporary
 * folder, loopback HTTP.
 */
import childProcess, { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Response as MfResponse, Miniflare, type MiniflareOptions } from "miniflare";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../lib/compatibility-date";
import { bundleWorker, startLocalWorker } from "../lib/local-worker";
import { BENCH_TOKEN, ephemeralSigner, publishTo } from "../lib/snapshots";
import { median, percentile } from "../lib/stats";
import { betaIds, scenarioDoc } from "./scenario";

const RUNS = 7;
const FLAGS = 1_000;
const HELLO = "scripts/bench/hello-worker.ts";
const KV_READ = "scripts/bench/kv-read-worker.ts";
const HELLO_BINDINGS = "scripts/bench/hello-bindings-worker.ts";

interface Sample {
  /** Miniflare constructed -> ready: includes the simulator's own work in Node before workerd starts. */
  startMs: number;
  /** workerd spawned -> ready (listening): the runtime's start-up alone. */
  runtimeMs: number;
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

/**
 * When each workerd process was spawned. Miniflare assembles and serialises its whole config in Node
 * before it spawns workerd; its Cap'n Proto writer grows one buffer by copying it for every allocation,
 * so that step alone costs ~0.2 ms per KB of worker code (a 260 KB comment costs as much as 260 KB of
 * code), and no edge isolate runs it. Spawn -> ready is the runtime's own start-up: reading the config,
 * compiling the modules, building the isolates and running their top level.
 */
const spawns: number[] = [];
function recordSpawns(): () => void {
  const original = childProcess.spawn;
  const wrapped = ((...args: Parameters<typeof original>) => {
    if (String(args[0]).includes("workerd")) spawns.push(performance.now());
    return original(...args);
  }) as typeof original;
  childProcess.spawn = wrapped;
  return () => {
    childProcess.spawn = original;
  };
}
const checksums = new Map<string, Set<number>>();

/** A Miniflare worker given its (minified) bundle as one explicit module, as wrangler passes it. */
function asModule(path: string) {
  return { modules: [{ type: "ESModule" as const, path, contents: readFileSync(path, "utf8") }] };
}

async function oneRun(
  name: string,
  options: MiniflareOptions,
  path: string,
  warm?: (mf: Miniflare) => Promise<void>,
): Promise<Sample> {
  const before = workerdChildren();
  const spawnsBefore = spawns.length;
  const t0 = performance.now();
  const mf = new Miniflare(options); // bundle already built: this is construction -> ready
  let sample: Sample;
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    const readyAt = performance.now();
    const startMs = readyAt - t0;
    if (spawns.length !== spawnsBefore + 1) {
      throw new Error(`${name}: expected one workerd spawn, saw ${spawns.length - spawnsBefore}`);
    }
    const runtimeMs = readyAt - spawns[spawns.length - 1]!;
    const fresh = [...workerdChildren()].filter((p) => !before.has(p));
    if (fresh.length !== 1 || seenPids.has(fresh[0]!)) {
      throw new Error(`${name}: expected one new workerd process, found ${fresh.join(",") || "none"}`);
    }
    const pid = fresh[0]!;
    seenPids.add(pid);
    await warm?.(mf);
    const first = await timedGet(`${url}${path}`);
    const second = await timedGet(`${url}${path}`);
    for (const r of [first, second]) {
      if (r.status !== 200) throw new Error(`${name}: ${path} answered ${r.status}`);
      const sums = checksums.get(name) ?? new Set<number>();
      sums.add(r.sum);
      checksums.set(name, sums);
    }
    sample = { startMs, runtimeMs, firstMs: first.ms, secondMs: second.ms, pid };
  } finally {
    await mf.dispose();
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
  const [worker, hello, kvRead, helloBindings] = await Promise.all([
    bundleWorker(undefined, true),
    bundleWorker(HELLO, true),
    bundleWorker(KV_READ, true),
    bundleWorker(HELLO_BINDINGS, true),
  ]);
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
    const onePath = "/v1/flags/flag-500?targetingKey=u1";
    const base = {
      compatibilityDate: COMPATIBILITY_DATE,
      host: "127.0.0.1",
      port: 0,
      cf: { country: "US", continent: "NA", colo: "LCL" },
    };
    // The worker runs with wrangler.toml's compatibility flags (nodejs_compat: node:crypto's hash);
    // the bare hello-world without, the hello-world with the same bindings with them.
    const edge = {
      ...base,
      compatibilityFlags: COMPATIBILITY_FLAGS,
      ...asModule(worker),
      kvNamespaces: ["FLAGS"],
      bindings,
    };
    const beacon = { BEACON: { className: "VersionBeacon", useSQLite: true } };
    const allCold = (kvPersist: string): MiniflareOptions => ({ ...edge, kvPersist, durableObjects: beacon });
    // The beacon in its own worker (its own isolate), as on the edge; the timed worker binds to it.
    const platformWarm = (kvPersist: string): MiniflareOptions => ({
      ...base,
      kvPersist,
      workers: [
        {
          ...edge,
          name: "edge",
          durableObjects: { BEACON: { className: "VersionBeacon", scriptName: "beacon" } },
        },
        {
          ...asModule(worker),
          name: "beacon",
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: COMPATIBILITY_FLAGS,
          bindings,
          durableObjects: beacon,
        },
      ],
    });
    const warmKv = async (mf: Miniflare, worker?: string) => {
      const kv = await mf.getKVNamespace("FLAGS", worker);
      await kv.get("warm-up: not a snapshot key");
    };
    const warmPlatform = async (mf: Miniflare) => {
      await warmKv(mf, "edge");
      // The Cache API simulator: a match and a put of a key the worker never uses.
      const cache = (await mf.getCaches()).default;
      const key = "https://warm-up.invalid/not-a-signal-key";
      await cache.match(key);
      await cache.put(key, new MfResponse("warm-up", { headers: { "cache-control": "max-age=60" } }));
      const ns = await mf.getDurableObjectNamespace("BEACON", "beacon");
      const stub = ns.get(ns.idFromName("bench")) as unknown as { read(): Promise<unknown> };
      await stub.read();
    };
    const cold: Sample[] = [];
    const warm: Sample[] = [];
    const one: Sample[] = [];
    const hi: Sample[] = [];
    const floor: Sample[] = [];
    const bound: Sample[] = [];
    const runs: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < RUNS; i++) {
      const kvA = join(dir, `kv-${i}-a`);
      const kvB = join(dir, `kv-${i}-b`);
      cpSync(template, kvA, { recursive: true });
      const kvC = join(dir, `kv-${i}-c`);
      const kvD = join(dir, `kv-${i}-d`);
      cpSync(template, kvB, { recursive: true });
      cpSync(template, kvC, { recursive: true });
      cpSync(template, kvD, { recursive: true });
      const readOnly: MiniflareOptions = {
        ...base,
        ...asModule(kvRead),
        kvNamespaces: ["FLAGS"],
        kvPersist: kvC,
        bindings: { EDGEFLAGS_ENV: bindings.EDGEFLAGS_ENV },
      };
      const all = [
        async () => cold.push(await oneRun("worker", allCold(kvA), path)),
        async () => warm.push(await oneRun("worker", platformWarm(kvB), path, warmPlatform)),
        async () => one.push(await oneRun("worker, one flag", platformWarm(kvD), onePath, warmPlatform)),
        async () => hi.push(await oneRun("hello", { ...base, ...asModule(hello) }, path)),
        async () => floor.push(await oneRun("kv read", readOnly, path, warmKv)),
        async () =>
          bound.push(
            await oneRun(
              "hello, bound",
              {
                ...base,
                compatibilityFlags: COMPATIBILITY_FLAGS,
                ...asModule(helloBindings),
                kvNamespaces: ["FLAGS"],
                durableObjects: beacon,
              },
              path,
            ),
          ),
      ];
      for (let j = 0; j < all.length; j++) runs.push(all[(i + j) % all.length]!);
    }
    const restore = recordSpawns();
    try {
      for (const run of runs) await run();
    } finally {
      restore();
    }
    for (const [name, sums] of checksums) {
      if (sums.size !== 1) throw new Error(`${name}: answers differ between runs (${sums.size} bodies)`);
    }

    const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);
    const x = (v: number) => `${v.toFixed(2)}x`;
    console.log(
      `${RUNS} runs, each a new workerd process (pids all distinct, each gone after dispose); ` +
        `worker with ${FLAGS.toLocaleString("en")} flags in KV (${(jws.length / 1024).toFixed(0)} KB snapshot) ` +
        `vs hello-world, both minified, interleaved; first request = GET ${path} once ready, from Node\n`,
    );
    console.log(
      `${"".padEnd(40)} ${"worker p50".padStart(10)} ${"p90".padStart(9)} ${"hello p50".padStart(10)} ${"p90".padStart(9)}  ratio p50 (per-run ratios: median [range])`,
    );
    const row = (label: string, edgeRuns: Sample[], pick: (s: Sample) => number) => {
      const e = edgeRuns.map(pick);
      const h = hi.map(pick);
      const per = e.map((v, i) => v / h[i]!);
      console.log(
        `${label.padEnd(40)} ${ms(median(e)).padStart(10)} ${ms(percentile(e, 90))} ${ms(median(h)).padStart(10)} ${ms(percentile(h, 90))}  ${x(median(e) / median(h))} (${x(median(per))} [${x(Math.min(...per))}-${x(Math.max(...per))}])`,
      );
    };
    row("start-up: workerd spawned -> ready", cold, (s) => s.runtimeMs);
    row("reference: hello-world, same bindings", bound, (s) => s.runtimeMs);
    row("start-up: Miniflare constructed -> ready", cold, (s) => s.startMs);
    row("reference: hello-world, same bindings", bound, (s) => s.startMs);
    row("first request, platform warm", warm, (s) => s.firstMs);
    row("first request, all cold", cold, (s) => s.firstMs);
    row("first request, one flag, platform warm", one, (s) => s.firstMs);
    row("reference: hello-world + one KV read", floor, (s) => s.firstMs);
    row("second request (context), platform warm", warm, (s) => s.secondMs);
    const runsOf = (samples: Sample[]) =>
      samples
        .map(
          (s) =>
            `${s.runtimeMs.toFixed(0)}/${s.startMs.toFixed(0)}/${s.firstMs.toFixed(1)}/${s.secondMs.toFixed(1)}`,
        )
        .join("  ");
    console.log("\nper run, ms (start-up: workerd / Miniflare; first; second):");
    console.log(`  worker, all cold       ${runsOf(cold)}`);
    console.log(`  worker, platform warm  ${runsOf(warm)}  (start-up includes the beacon's worker)`);
    console.log(`  worker, one flag       ${runsOf(one)}  (GET ${onePath}, platform warm)`);
    console.log(`  hello-world            ${runsOf(hi)}`);
    console.log(`  hello-world + KV read  ${runsOf(floor)}  (KV simulator warmed first)`);
    console.log(`  hello-world, bound     ${runsOf(bound)}  (FLAGS and BEACON bound, as the worker)`);
    console.log(
      "\ntargets: first request <= 3x hello-world's; start-up to ready (workerd spawned -> ready) within 1.2x of hello-world's",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
