/**
 * A small closed-loop HTTP load generator for loopback benchmarks: C keep-alive connections each send
 * the next request as soon as the previous answer arrives, for a fixed time. Latency is recorded per
 * request with a microsecond clock (autocannon and friends round to whole milliseconds, too coarse for
 * sub-millisecond local latencies). I/O: HTTP to 127.0.0.1 only.
 */
import { Agent, request } from "node:http";
import { percentileOfSorted } from "./stats";

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  durationMs?: number;
  warmupMs?: number;
  /** Expected status; any other counts as an error. */
  expectStatus?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50us: number;
  p99us: number;
  meanus: number;
}

/** Runs the load and returns throughput and latency percentiles. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") throw new Error("loopback targets only");
  const connections = options.connections ?? 8;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const expect = options.expectStatus ?? 200;
  const headers = { ...options.headers };
  if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));

  const once = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { method: options.method ?? "GET", headers, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(options.body);
    });

  const phase = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    const loop = async () => {
      while (performance.now() < end) {
        const t0 = process.hrtime.bigint();
        const status = await once().catch(() => -1);
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        if (status !== expect) errors++;
        if (record) latencies.push(us);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: connections }, loop));
    return { latencies, errors, elapsed: performance.now() - started };
  };

  await phase(options.warmupMs ?? 500, false);
  const { latencies, errors, elapsed } = await phase(options.durationMs ?? 3000, true);
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  return {
    requests: latencies.length,
    errors,
    rps: latencies.length / (elapsed / 1000),
    p50us: percentileOfSorted(sorted, 50),
    p99us: percentileOfSorted(sorted, 99),
    meanus: mean,
  };
}

export interface PairedResult {
  pairs: number;
  errors: number;
  /** Median latency of each side, µs. */
  p50a: number;
  p50b: number;
  /** Median of the per-pair differences a - b, µs: drift and bursts of load hit both halves of a pair. */
  diffus: number;
}

/**
 * A/B latency one request at a time: each pair sends one request to `a` and one to `b`, in a random
 * order, on one keep-alive connection each, so machine noise falls on both sides alike (a noisy
 * machine widens the spread but does not bias the ratio). For effects of a few percent that whole
 * load runs, minutes apart, cannot resolve.
 */
export async function runPaired(
  a: LoadOptions,
  b: LoadOptions,
  pairs: number,
  warmup = 200,
): Promise<PairedResult> {
  const side = (o: LoadOptions) => {
    const url = new URL(o.url);
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost")
      throw new Error("loopback targets only");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { ...o.headers };
    if (o.body !== undefined) headers["content-length"] = String(Buffer.byteLength(o.body));
    const expect = o.expectStatus ?? 200;
    const once = () =>
      new Promise<number>((resolve) => {
        const t0 = process.hrtime.bigint();
        const req = request(url, { method: o.method ?? "GET", headers, agent }, (res) => {
          res.resume();
          res.on("end", () =>
            resolve(res.statusCode === expect ? Number(process.hrtime.bigint() - t0) / 1000 : -1),
          );
        });
        req.on("error", () => resolve(-1));
        req.end(o.body);
      });
    return { once, agent };
  };
  const sa = side(a);
  const sb = side(b);
  const la: number[] = [];
  const lb: number[] = [];
  const diffs: number[] = [];
  let errors = 0;
  for (let i = 0; i < warmup + pairs; i++) {
    const aFirst = Math.random() < 0.5;
    const first = await (aFirst ? sa : sb).once();
    const second = await (aFirst ? sb : sa).once();
    const [ta, tb] = aFirst ? [first, second] : [second, first];
    if (i < warmup) continue;
    if (ta < 0 || tb < 0) {
      errors++;
      continue;
    }
    la.push(ta);
    lb.push(tb);
    diffs.push(ta - tb);
  }
  sa.agent.destroy();
  sb.agent.destroy();
  const med = (xs: number[]) => percentileOfSorted(Float64Array.from(xs).sort(), 50);
  return { pairs: la.length, errors, p50a: med(la), p50b: med(lb), diffus: med(diffs) };
}

/** Which load generator the benchmarks use: wrk when installed, else this file's own. */
export type LoadTool = "wrk" | "node";

/** wrk if it is installed, unless EDGEFLAGS_LOADGEN=node asks for the Node generator. */
export async function pickLoadTool(): Promise<LoadTool> {
  if (process.env.EDGEFLAGS_LOADGEN === "node") return "node";
  const { wrkAvailable } = await import("./wrk");
  return wrkAvailable() ? "wrk" : "node";
}

/**
 * Runs the load with `tool`. wrk cannot check each status, so one request is made first and its
 * status must be the expected one (the scenario answers deterministically).
 */
export async function runLoadWith(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  if (tool === "node") return runLoad(options);
  const res = await fetch(options.url, {
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
  });
  await res.arrayBuffer();
  const expect = options.expectStatus ?? 200;
  if (res.status !== expect) throw new Error(`${options.url}: status ${res.status}, expected ${expect}`);
  const { runWrk } = await import("./wrk");
  return runWrk(options);
}
