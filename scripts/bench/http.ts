/**
 * HTTP benchmark through local workerd (Miniflare): GET /v1/flags and OFREP bulk for the 100-flag
 * scenario, next to a bare Hono hello-world worker measured in the same run; the same worker with
 * evaluation counts on (the default, both sinks bound) and off (COUNTS=false), interleaved; plus the cost of
 * reloading a snapshot (KV read + verify + parse + shape check + compile) for 100 / 1,000 / 10,000
 * flags inside a warm workerd isolate (not a cold start: see the `cold` section for fresh processes),
 * and broken down in Node. I/O: loopback HTTP only.
 */
import { base64url } from "jose";
import { compile } from "../../src/eval/index";
import { checkShape } from "../../src/flags/shape.generated";
import type { FlagDefinition } from "../../src/flags/types";
import { approveGroup, groupOf, manifestOf } from "../../src/policy/manifest";
import { generateKeys } from "../../src/publisher/keys";
import { snapshotPayload } from "../../src/snapshot/format";
import { compactParts, compactSignatureVerifies } from "../../src/snapshot/jws";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey, type SigningKey, signSnapshot } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";
import { type LoadOptions, pickLoadTool, runLoadWith, runPaired } from "../lib/loadgen";
import { startLocalIsolates, startLocalWorker } from "../lib/local-worker";
import { BENCH_TOKEN, ephemeralSigner, publishTo } from "../lib/snapshots";
import { median } from "../lib/stats";
import { betaIds, scenarioDoc } from "./scenario";

const ROUNDS = 5;
const DURATION_MS = 2000;
/** Request pairs per scenario in the paired counts comparison. */
const PAIRS = 3000;

type Sample = { rps: number; p50: number; p99: number; errors: number };

/** p50 on one connection (the time one request takes) and req/s on eight (the machine saturated). */
async function measure(s: LoadOptions, tool: Awaited<ReturnType<typeof pickLoadTool>>): Promise<Sample> {
  const lat = await runLoadWith("node", { ...s, durationMs: DURATION_MS, connections: 1 });
  const thr = await runLoadWith(tool, { ...s, durationMs: DURATION_MS, connections: 8 });
  return { rps: thr.rps, p50: lat.p50us, p99: lat.p99us, errors: lat.errors + thr.errors };
}

/**
 * Evaluation counts' request-path cost: the same worker and snapshot with counting on (the default:
 * AGGREGATOR and EF_COUNTS bound, 10 s flushes) and off (COUNTS=false), measured off, on, off in each
 * round so that drift cancels; the ratio is on against the mean of the two offs (target <= 1.05).
 */
export async function countingOverhead(jwks: string, jws: string): Promise<void> {
  const bindings = { EDGEFLAGS_ENV: "bench", EDGEFLAGS_PUBLIC_KEYS: jwks, PUBLISH_TOKEN: BENCH_TOKEN };
  const cf = { country: "DE", continent: "EU" };
  const [on, off] = await Promise.all([
    startLocalWorker({ bindings, cf }),
    startLocalWorker({ bindings: { ...bindings, COUNTS: "false" }, cf }),
  ]);
  try {
    for (const w of [on, off]) await publishTo(`${w.url}/v1/snapshot`, jws);
    const health = (await (await fetch(`${on.url}/healthz`)).json()) as { counts: { enabled: boolean } };
    const offHealth = (await (await fetch(`${off.url}/healthz`)).json()) as { counts: { enabled: boolean } };
    if (!health.counts.enabled || offHealth.counts.enabled)
      throw new Error("counting is not on/off as meant");
    const ofrepBody = JSON.stringify({ context: { targetingKey: "user-42", plan: "pro" } });
    const scenarios: { name: string; at: (base: string) => LoadOptions }[] = [
      {
        name: "GET /v1/flags (100 flags)",
        at: (b) => ({ url: `${b}/v1/flags?targetingKey=user-42&plan=pro` }),
      },
      {
        name: "POST /ofrep/v1/evaluate/flags (bulk)",
        at: (b) => ({
          url: `${b}/ofrep/v1/evaluate/flags`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: ofrepBody,
        }),
      },
      {
        name: "GET /v1/flags/:key (one flag)",
        at: (b) => ({ url: `${b}/v1/flags/flag-001?targetingKey=user-42` }),
      },
    ];
    const tool = await pickLoadTool();
    const rows: { name: string; on: Sample[]; off: Sample[]; p50: number[]; rps: number[] }[] = scenarios.map(
      (s) => ({ name: s.name, on: [], off: [], p50: [], rps: [] }),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of scenarios.entries()) {
        const row = rows[i]!;
        const before = await measure(s.at(off.url), tool);
        const counted = await measure(s.at(on.url), tool);
        const after = await measure(s.at(off.url), tool);
        row.off.push(before, after);
        row.on.push(counted);
        row.p50.push(counted.p50 / ((before.p50 + after.p50) / 2));
        row.rps.push((before.rps + after.rps) / 2 / counted.rps);
      }
    }
    const flushed = (await (await fetch(`${on.url}/healthz`)).json()) as { counts: { flushes: number } };
    console.log(
      `
evaluation counts on vs off (same worker and snapshot; off, on, off per round; ${ROUNDS} rounds; the on worker flushed ${flushed.counts.flushes} times):
`,
    );
    console.log(
      `${"scenario".padEnd(38)} ${"off p50".padStart(8)} ${"on p50".padStart(8)} ${"off rps".padStart(8)} ${"on rps".padStart(8)}  on/off: p50; 1/rps (median [range])`,
    );
    const x = (v: number) => `${v.toFixed(3)}x`;
    const spread = (vs: number[]) => `${x(median(vs))} [${x(Math.min(...vs))}-${x(Math.max(...vs))}]`;
    const m = (xs: Sample[], k: "p50" | "rps") => Math.round(median(xs.map((v) => v[k])));
    for (const r of rows) {
      const errors = [...r.on, ...r.off].reduce((n, v) => n + v.errors, 0);
      console.log(
        `${r.name.padEnd(38)} ${String(m(r.off, "p50")).padStart(8)} ${String(m(r.on, "p50")).padStart(8)} ${String(m(r.off, "rps")).padStart(8)} ${String(m(r.on, "rps")).padStart(8)}  ${spread(r.p50)}; ${spread(r.rps)}${errors ? `  (${errors} errors)` : ""}`,
      );
    }
    // The same comparison request by request: robust on a busy machine, where whole runs are not.
    console.log(
      `\npaired, request by request (two isolates of one workerd process; ${PAIRS} pairs per scenario after 200 unrecorded, random order within each pair):\n`,
    );
    console.log(
      `${"scenario".padEnd(38)} ${"off p50".padStart(8)} ${"on p50".padStart(8)} ${"on-off".padStart(8)}  on/off p50`,
    );
    // Two isolates of one workerd process, so the two sides share a thread and a JIT, not only a machine.
    const pair = await startLocalIsolates(
      ["on", "off"],
      (name) => ({ ...bindings, ...(name === "off" ? { COUNTS: "false" } : {}) }),
      true,
    );
    try {
      await publishTo(`${pair.urls.on}/v1/snapshot`, jws);
      for (const s of scenarios) {
        const r = await runPaired(s.at(pair.urls.on as string), s.at(pair.urls.off as string), PAIRS);
        console.log(
          `${s.name.padEnd(38)} ${r.p50b.toFixed(0).padStart(8)} ${r.p50a.toFixed(0).padStart(8)} ${`${r.diffus >= 0 ? "+" : ""}${r.diffus.toFixed(1)}`.padStart(8)}  ${(r.p50a / r.p50b).toFixed(3)}x${r.errors ? `  (${r.errors} errors)` : ""}`,
        );
      }
      const h = (await (await fetch(`${pair.urls.on}/healthz`)).json()) as { counts: { enabled: boolean } };
      const o = (await (await fetch(`${pair.urls.off}/healthz`)).json()) as { counts: { enabled: boolean } };
      if (!h.counts.enabled || o.counts.enabled)
        throw new Error("paired isolates: counting is not on/off as meant");
    } finally {
      await pair.dispose();
    }
  } finally {
    await Promise.all([on.dispose(), off.dispose()]);
  }
}

async function throughput(jwks: string, jws: string): Promise<void> {
  const bindings = { EDGEFLAGS_ENV: "bench", EDGEFLAGS_PUBLIC_KEYS: jwks, PUBLISH_TOKEN: BENCH_TOKEN };
  const [edge, hello] = await Promise.all([
    startLocalWorker({ bindings, cf: { country: "DE", continent: "EU" } }),
    startLocalWorker({ entry: "scripts/bench/hello-worker.ts" }),
  ]);
  const workers = [edge, hello];
  try {
    await publishTo(`${edge.url}/v1/snapshot`, jws);
    const flagsUrl = `${edge.url}/v1/flags?targetingKey=user-42&plan=pro`;
    const first = await fetch(flagsUrl);
    const etag = first.headers.get("etag") as string;
    const ofrepUrl = `${edge.url}/ofrep/v1/evaluate/flags`;
    const ofrepBody = JSON.stringify({ context: { targetingKey: "user-42", plan: "pro" } });
    const ofrepAnswer = await fetch(ofrepUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ofrepBody,
    });
    // The references answer with exactly these bytes, without evaluating anything.
    const sameBytes = await startLocalWorker({
      entry: "scripts/bench/same-bytes-worker.ts",
      bindings: { GET_BODY: await first.text(), POST_BODY: await ofrepAnswer.text() },
    });
    workers.push(sameBytes);
    const scenarios: (LoadOptions & { name: string })[] = [
      { name: "hello-world Hono worker (baseline)", url: `${hello.url}/` },
      { name: "GET /v1/flags (100 flags)", url: flagsUrl },
      {
        name: "GET /v1/flags, If-None-Match -> 304",
        url: flagsUrl,
        headers: { "if-none-match": etag },
        expectStatus: 304,
      },
      {
        name: "POST /ofrep/v1/evaluate/flags (bulk)",
        url: ofrepUrl,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ofrepBody,
      },
      { name: "reference: same bytes as GET, no work", url: `${sameBytes.url}/` },
      {
        name: "reference: same bytes as OFREP, no work",
        url: `${sameBytes.url}/`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ofrepBody,
      },
    ];
    const tool = await pickLoadTool();
    // Latency is measured on one connection (no queueing: the time one request takes), throughput
    // on eight (the machine saturated); under saturation p50 only mirrors throughput. Each round
    // measures the baseline before and after the others, and each ratio is taken against the mean
    // of those two, so that slow drifts of a shared machine cancel out; the table shows the median
    // ratio over the rounds and their range.
    const baseline = scenarios[0]!;
    const others = scenarios.slice(1);
    const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]));
    const ratios = new Map<string, { p50: number[]; rps: number[] }>(
      others.map((s) => [s.name, { p50: [], rps: [] }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      const before = await measure(baseline, tool);
      const measured: Sample[] = [];
      for (const s of others) measured.push(await measure(s, tool));
      const after = await measure(baseline, tool);
      samples.get(baseline.name)!.push(before, after);
      const baseP50 = (before.p50 + after.p50) / 2;
      const baseRps = (before.rps + after.rps) / 2;
      others.forEach((s, i) => {
        const m = measured[i]!;
        samples.get(s.name)!.push(m);
        ratios.get(s.name)!.p50.push(m.p50 / baseP50);
        ratios.get(s.name)!.rps.push(baseRps / m.rps);
      });
    }
    console.log(
      `latency: 1 connection, Node load generator (per-request microsecond clock); throughput: 8 connections, ${tool === "wrk" ? "wrk" : "Node load generator (install wrk for the recorded figures)"}; ${DURATION_MS / 1000} s each, ${ROUNDS} rounds, medians\n`,
    );
    console.log(
      `${"scenario".padEnd(42)} ${"req/s".padStart(8)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)}  vs baseline: p50; req/s (median of rounds, [range])`,
    );
    const x = (v: number) => `${v.toFixed(2)}x`;
    const spread = (vs: number[]) => `${x(median(vs))} [${x(Math.min(...vs))}-${x(Math.max(...vs))}]`;
    for (const s of scenarios) {
      const all = samples.get(s.name)!;
      const r = ratios.get(s.name);
      const ratio = r ? `  ${spread(r.p50)}; ${spread(r.rps)}` : "";
      const errors = all.reduce((n, m) => n + m.errors, 0);
      const errs = errors > 0 ? `  (${errors} errors)` : "";
      console.log(
        `${s.name.padEnd(42)} ${Math.round(median(all.map((m) => m.rps)))
          .toString()
          .padStart(8)} ${Math.round(median(all.map((m) => m.p50)))
          .toString()
          .padStart(8)} ${Math.round(median(all.map((m) => m.p99)))
          .toString()
          .padStart(8)}${ratio}${errs}`,
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.dispose()));
  }
}

/**
 * 1,000 flags under a trust policy: 50 of them tagged `payments` (two approvals each), approved by two
 * approver keys in one group that the publisher's key signs too; and the same document killed by an
 * on-call key, where every flag must be checked against the carried approvals (the costliest case).
 */
async function policySnapshots(): Promise<{ jwks: string; policy: string; snapshots: Map<string, string> }> {
  const kids = ["bench", "approver-1", "approver-2", "on-call"];
  const generated = await Promise.all(kids.map((kid) => generateKeys(kid)));
  const signers = await Promise.all(generated.map((k) => importSigningKey(k.privateJwk)));
  const jwks = JSON.stringify({ keys: generated.flatMap((k) => k.publicJwks.keys) });
  const policy = JSON.stringify({
    keys: {
      bench: { roles: ["publisher"] },
      "approver-1": { roles: ["approver"] },
      "approver-2": { roles: ["approver"] },
      "on-call": { roles: ["oncall"] },
    },
    approvals: { "tag:payments": 2 },
  });
  const doc = scenarioDoc(1_000, betaIds());
  Object.values(doc.flags)
    .slice(0, 50)
    .forEach((f) => {
      f.tags = ["payments"];
    });
  let group = groupOf(await manifestOf(doc, { environment: "bench" }));
  for (const s of signers.slice(0, 3)) group = await approveGroup(group, s as SigningKey);
  const approved = await signSnapshot(
    snapshotPayload(doc, { environment: "bench", version: 1, approvals: [group] }),
    signers[0] as SigningKey,
  );
  const killed = structuredClone(doc);
  (Object.values(killed.flags)[0] as FlagDefinition).enabled = false;
  const oncall = await signSnapshot(
    snapshotPayload(killed, {
      environment: "bench",
      version: 2,
      approvals: [group],
      audit: {
        actor: "on-call",
        changes: { added: [], removed: [], changed: [], text: "kill" },
        breakGlass: { reason: "bench" },
      },
    }),
    signers[3] as SigningKey,
  );
  return {
    jwks,
    policy,
    snapshots: new Map([
      ["1,000 flags, policy: 50 guarded, 2 approvals", approved],
      ["1,000 flags, policy: on-call kill (every flag checked)", oncall],
    ]),
  };
}

async function coldLoadInWorkerd(jwks: string, snapshots: Map<number, string>): Promise<void> {
  const withPolicy = await policySnapshots();
  const w = await startLocalWorker({
    entry: "scripts/bench/coldload-worker.ts",
    bindings: { EDGEFLAGS_PUBLIC_KEYS: jwks },
  });
  const p = await startLocalWorker({
    entry: "scripts/bench/coldload-worker.ts",
    bindings: { EDGEFLAGS_PUBLIC_KEYS: withPolicy.jwks, EDGEFLAGS_POLICY: withPolicy.policy },
  });
  try {
    const kv = await w.mf.getKVNamespace("FLAGS");
    for (const [n, jws] of snapshots) await kv.put(`snap-${n}`, jws);
    const pkv = await p.mf.getKVNamespace("FLAGS");
    for (const [name, jws] of withPolicy.snapshots) await pkv.put(name, jws);
    console.log(
      "\nreload in a warm isolate (workerd; KV read + verify + parse + shape check + compile), per reload, after one untimed call of N reloads; not a cold start (see the `cold` section):",
    );
    for (const [n, jws] of snapshots) {
      const times = n >= 10_000 ? 5 : 20;
      const timeCall = async (t: number) => {
        const t0 = performance.now();
        const res = await fetch(`${w.url}/?key=snap-${n}&times=${t}`);
        if (!res.ok) throw new Error(await res.text());
        await res.arrayBuffer();
        return performance.now() - t0;
      };
      await timeCall(times); // untimed: warms the isolate and the code, so what follows are reloads
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) runs.push(((await timeCall(times)) - (await timeCall(0))) / times);
      const kb = (jws.length / 1024).toFixed(0);
      console.log(
        `  ${String(n).padStart(6)} flags (${kb.padStart(5)} KB snapshot): ${median(runs).toFixed(2)} ms`,
      );
    }
    // Under a trust policy, against the same 1,000 flags without one, alternating in one run.
    const reload = async (worker: typeof w, key: string, policy: boolean) => {
      const call = async (t: number) => {
        const t0 = performance.now();
        const res = await fetch(
          `${worker.url}/?key=${encodeURIComponent(key)}&times=${t}${policy ? "&policy=1" : ""}`,
        );
        if (!res.ok) throw new Error(await res.text());
        await res.arrayBuffer();
        return performance.now() - t0;
      };
      await call(20);
      return async () => ((await call(20)) - (await call(0))) / 20;
    };
    const base = await reload(w, "snap-1000", false);
    for (const [name, jws] of withPolicy.snapshots) {
      const timed = await reload(p, name, true);
      const ms: number[] = [];
      const ratio: number[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await base();
        const m = await timed();
        ms.push(m);
        ratio.push(m / b);
      }
      const kb = (jws.length / 1024).toFixed(0);
      console.log(
        `  ${name} (${kb} KB snapshot): ${median(ms).toFixed(2)} ms, ${median(ratio).toFixed(2)}x the same flags without a policy`,
      );
    }
  } finally {
    await Promise.all([w.dispose(), p.dispose()]);
  }
}

async function coldLoadBreakdown(jwks: string, snapshots: Map<number, string>): Promise<void> {
  const keys = await loadKeyRing(jwks);
  const key = keys.get("bench")!;
  console.log("\nreload breakdown in Node (same code, warm process), median of 9, ms:");
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
      // As verifySnapshot: the signature over the signing input, then the payload decoded once.
      const jwsParts = compactParts(jws)!;
      if (!(await compactSignatureVerifies(key, jws, jwsParts)))
        throw new Error("the bench snapshot does not verify");
      const payload = base64url.decode(jwsParts[1]);
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
  await countingOverhead(jwks, snapshots.get(100)!);
  await coldLoadInWorkerd(jwks, snapshots);
  await coldLoadBreakdown(jwks, snapshots);
}
