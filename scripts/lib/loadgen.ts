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
