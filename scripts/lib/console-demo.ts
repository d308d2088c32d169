/**
 * A worker with something to show in the console, for the console's browser tests and screenshots:
 * the demo flags published as three versions through the intake (a rollout widened, a kill), with
 * signed audit blocks, and an hour of evaluation counts in the aggregator. Runs in real workerd
 * (Miniflare) on 127.0.0.1 with a fresh key. I/O: reads examples/demo.flags.yaml, a loopback port.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlagsFile } from "../../src/flags/parse";
import type { FlagsDocument } from "../../src/flags/types";
import type { Aggregator, CountRow } from "../../src/observe/types";
import { diffDocuments } from "../../src/publisher/diff";
import { generateKeys } from "../../src/publisher/keys";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { type LocalWorker, startLocalWorker } from "./local-worker";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const CONSOLE_DEMO = {
  environment: "demo",
  publishToken: "demo-publish-token",
  consoleToken: "demo-console-token",
} as const;

export interface ConsoleDemo {
  worker: LocalWorker;
  url: string;
  /** The versions published, oldest first. */
  versions: number[];
  dispose(): Promise<void>;
}

function demoDocument(): FlagsDocument {
  const file = join(root, "examples/demo.flags.yaml");
  const { document, problems } = parseFlagsFile(readFileSync(file, "utf8"), file);
  if (!document || problems.length > 0)
    throw new Error(`the demo flags do not parse: ${problems[0]?.message}`);
  return document;
}

const clone = <T>(v: T): T => structuredClone(v);

/** The versions to publish: [document, actor, message]. */
function versionsOf(demo: FlagsDocument): [FlagsDocument, string, string][] {
  const v1 = clone(demo);
  const checkout = v1.flags["new-checkout"];
  if (checkout && typeof checkout.fallthrough === "object") checkout.fallthrough.split = { on: 10, off: 90 };
  const v3 = clone(demo);
  const search = v3.flags["search-backend-v2"];
  if (search) search.enabled = false;
  return [
    [v1, "Ada Lovelace <ada@example.com>", "demo flags, new checkout at 10%"],
    [clone(demo), "Grace Hopper <grace@example.com>", "widen the new checkout to 25%"],
    [v3, "On-call <oncall@example.com>", "kill search-backend-v2: p99 latency alarm"],
  ];
}

/** Evaluation counts for the last `minutes` minutes: a steady mix per variant with some noise. */
async function seedCounts(
  worker: LocalWorker,
  environment: string,
  now: number,
  minutes = 60,
): Promise<void> {
  const ns = await worker.mf.getDurableObjectNamespace("AGGREGATOR");
  const aggregator = ns.get(ns.idFromName(environment)) as unknown as Aggregator;
  const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
  const mix: [string, string, string, number][] = [
    ["new-checkout", "on", "SPLIT", 60],
    ["new-checkout", "off", "SPLIT", 170],
    ["new-checkout", "on", "TARGETING_MATCH", 12],
    ["button-color", "control", "SPLIT", 80],
    ["button-color", "blue", "SPLIT", 78],
    ["button-color", "green", "SPLIT", 77],
    ["demo-flag", "on", "STATIC", 240],
    ["search-backend-v2", "off", "DISABLED", 110],
  ];
  for (let m = 0; m < minutes; m++) {
    const from = start + m * 60_000;
    // A gentle daily-traffic shape and deterministic jitter, so the chart looks like traffic.
    const wave = 1 + 0.35 * Math.sin((m / minutes) * Math.PI * 2);
    const rows: CountRow[] = mix.map(([flag, variant, reason, base], i) => ({
      flag,
      variant,
      reason,
      country: "",
      count: Math.max(1, Math.round(base * wave * (0.85 + (((m * 7 + i * 13) % 11) / 11) * 0.3))),
    }));
    await aggregator.add({ environment, from, to: from + 59_000, rows });
  }
}

/** Starts the worker and publishes the demo history; `dispose()` stops it. */
export async function startConsoleDemo(options: { port?: number } = {}): Promise<ConsoleDemo> {
  const keys = await generateKeys("demo-key");
  const { environment, publishToken, consoleToken } = CONSOLE_DEMO;
  const worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: environment,
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(keys.publicJwks),
      PUBLISH_TOKEN: publishToken,
      CONSOLE_TOKEN: consoleToken,
      SIGNAL_LOCATION: "LCL",
    },
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  try {
    const signer = await importSigningKey(keys.privateJwk);
    const versions: number[] = [];
    let before: FlagsDocument | undefined;
    const now = Date.now();
    const list = versionsOf(demoDocument());
    for (const [i, [doc, actor, message]] of list.entries()) {
      const version = i + 1;
      const payload = snapshotPayload(doc, {
        environment,
        version,
        // Spread over the last few days, so the history reads like one.
        now: now - (list.length - i) * 26 * 3_600_000,
        sourceDigest: `sha256:demo-${version}`,
        audit: { actor, message, changes: diffDocuments(before, doc) },
      });
      const res = await fetch(`${worker.url}/v1/snapshot`, {
        method: "PUT",
        headers: { authorization: `Bearer ${publishToken}`, "content-type": "application/jose" },
        body: await signSnapshot(payload, signer),
      });
      if (res.status !== 201)
        throw new Error(`publishing version ${version}: ${res.status} ${await res.text()}`);
      versions.push(version);
      before = doc;
    }
    await seedCounts(worker, environment, now);
    // One evaluation, so this location reports the version it serves to the beacon's table.
    await fetch(`${worker.url}/v1/flags?targetingKey=user-1`);
    return { worker, url: worker.url, versions, dispose: () => worker.dispose() };
  } catch (err) {
    await worker.dispose();
    throw err;
  }
}
