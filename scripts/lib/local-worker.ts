/**
 * Runs the worker in real workerd (Miniflare) on 127.0.0.1 for Node-side tests, end-to-end checks and
 * benchmarks: bundles src/worker.ts with esbuild once per process, then starts Miniflare with the
 * given bindings and, for the real worker, the version beacon and the counts aggregator (Durable
 * Objects) and the counts' Analytics Engine dataset, as wrangler.toml declares them. I/O: writes the bundle under .wrangler/tmp, listens on a loopback port.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "./compatibility-date";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const bundles = new Map<string, Promise<string>>();

/** Bundles an entry (default the worker) the way wrangler does, once per process. */
export function bundleWorker(entry = "src/worker.ts", minify = false): Promise<string> {
  const key = `${entry}|${minify}`;
  let p = bundles.get(key);
  if (!p) {
    const outdir = join(root, ".wrangler", "tmp", "local-worker");
    mkdirSync(outdir, { recursive: true });
    const outfile = join(outdir, `${entry.replace(/[^\w]+/g, "_")}${minify ? ".min" : ""}.mjs`);
    p = build({
      entryPoints: [join(root, entry)],
      outfile,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      // workerd provides these modules: the beacon's DurableObject base class,
      // and, under nodejs_compat, node:crypto (the approvals' digest).
      external: ["cloudflare:*", "node:*"],
      minify,
      logLevel: "silent",
    }).then(() => outfile);
    bundles.set(key, p);
  }
  return p;
}

export interface LocalWorkerOptions {
  bindings?: Record<string, string>;
  /** workerd compatibility flags (default: wrangler.toml's). */
  compatibilityFlags?: string[];
  /** A fixed `request.cf` for every request (Miniflare's stand-in for the edge). */
  cf?: Record<string, unknown>;
  /** Persist KV in this folder (default: in memory). */
  kvPersist?: string;
  /** Persist the beacon's Durable Object storage in this folder (default: in memory). */
  doPersist?: string;
  /**
   * Bind the version beacon as BEACON (default: when running the real worker, whose entry exports
   * VersionBeacon). False runs the worker KV-only, as a deployment without the binding would.
   */
  beacon?: boolean;
  /**
   * Bind the counts aggregator as AGGREGATOR and an Analytics Engine dataset as EF_COUNTS (default:
   * for the real worker). False runs it with counting off for want of bindings.
   */
  counts?: boolean;
  entry?: string;
  port?: number;
}

export interface LocalWorker {
  url: string;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/** Starts the worker on 127.0.0.1 (a free port unless one is given). */
export async function startLocalWorker(options: LocalWorkerOptions = {}): Promise<LocalWorker> {
  const scriptPath = await bundleWorker(options.entry);
  const beacon = options.beacon ?? options.entry === undefined;
  const counts = options.counts ?? options.entry === undefined;
  const durableObjects = {
    ...(beacon ? { BEACON: { className: "VersionBeacon", useSQLite: true } } : {}),
    ...(counts ? { AGGREGATOR: { className: "CountsAggregator", useSQLite: true } } : {}),
  };
  const mf = new Miniflare({
    // The bundle as one explicit module, as wrangler passes it: given only a script path, Miniflare
    // would parse the whole bundle in Node (acorn) to find its imports, ~100 ms per start.
    modules: [{ type: "ESModule", path: scriptPath, contents: readFileSync(scriptPath, "utf8") }],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: options.compatibilityFlags ?? COMPATIBILITY_FLAGS,
    kvNamespaces: ["FLAGS"],
    kvPersist: options.kvPersist ?? false,
    ...(beacon || counts ? { durableObjects, durableObjectsPersist: options.doPersist ?? false } : {}),
    ...(counts ? { analyticsEngineDatasets: { EF_COUNTS: { dataset: "edgeflags_counts" } } } : {}),
    bindings: options.bindings ?? {},
    host: "127.0.0.1",
    port: options.port ?? 0,
    cf: options.cf ?? { country: "US", continent: "NA", colo: "LCL" },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, mf, dispose: () => mf.dispose() };
}

export interface LocalIsolates {
  /** Each isolate's own URL on 127.0.0.1, by name. */
  urls: Record<string, string>;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/**
 * The worker as several isolates in one Miniflare (one worker each, so each has its own memory),
 * sharing KV and the version beacon (held by the first) as isolates of one deployment do. Each gets
 * its own URL, so a test can publish to one and watch another.
 */
export async function startLocalIsolates(
  names: readonly string[],
  bindings: (name: string) => Record<string, string>,
  /** Also bind the counts aggregator (held by the first) and an Analytics Engine dataset. */
  counts = false,
): Promise<LocalIsolates> {
  const scriptPath = await bundleWorker();
  const contents = readFileSync(scriptPath, "utf8");
  const [first] = names;
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: { country: "US", continent: "NA", colo: "LCL" },
    workers: names.map((name) => ({
      name,
      modules: [{ type: "ESModule" as const, path: scriptPath, contents }],
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: COMPATIBILITY_FLAGS,
      kvNamespaces: { FLAGS: "flags" },
      durableObjects: {
        BEACON:
          name === first
            ? { className: "VersionBeacon", useSQLite: true }
            : { className: "VersionBeacon", scriptName: first, useSQLite: true },
        ...(counts
          ? {
              AGGREGATOR:
                name === first
                  ? { className: "CountsAggregator", useSQLite: true }
                  : { className: "CountsAggregator", scriptName: first, useSQLite: true },
            }
          : {}),
      },
      ...(counts ? { analyticsEngineDatasets: { EF_COUNTS: { dataset: "edgeflags_counts" } } } : {}),
      bindings: bindings(name),
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    })),
  });
  await mf.ready;
  const urls: Record<string, string> = {};
  for (const name of names) urls[name] = (await mf.unsafeGetDirectURL(name)).toString().replace(/\/$/, "");
  return { urls, mf, dispose: () => mf.dispose() };
}
