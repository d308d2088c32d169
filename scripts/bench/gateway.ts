/**
 * Gateway overhead: a ~5 KB HTML page fetched straight from a node:http origin, and through the worker
 * in gateway mode (workerd on 127.0.0.1, ORIGIN_URL) - bare pass-through, and with a matching gate,
 * the flags header and HTML injection. Interleaved rounds, medians, in one run. I/O: loopback HTTP only.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { FlagsDocument } from "../../src/flags/types";
import { type LoadOptions, runLoad } from "../lib/loadgen";
import { startLocalWorker } from "../lib/local-worker";
import { BENCH_TOKEN, ephemeralSigner, publishTo } from "../lib/snapshots";
import { median } from "../lib/stats";

const ROUNDS = 3;
const DURATION_MS = 2000;

/** A realistic small shop page: about 5 KB of HTML with a <head>. */
function page(): string {
  const items = Array.from(
    { length: 55 },
    (_, i) =>
      `<li class="item"><a href="/shop/item/${i}">Item ${i}</a> <span class="price">$${i}.99</span></li>`,
  ).join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="stylesheet" href="/style.css"><meta name="viewport" content="width=device-width"></head>
<body><header><h1>Demo shop</h1></header><main><ul>${items}</ul></main><footer>ok</footer></body></html>`;
}

/** Twenty client-visible flags, ten gates (one matching /shop/*), as a real gateway would carry. */
function flagsDoc(): FlagsDocument {
  const flags: FlagsDocument["flags"] = {
    "shop-open": { clientVisible: true, geo: { block: { countries: ["KP"] } }, fallthrough: "on" },
  };
  for (let i = 0; i < 20; i++) {
    flags[`ui-${i}`] = {
      clientVisible: true,
      rules: [{ when: [{ attribute: "geo.country", op: "in", values: ["DE", "FR"] }], serve: "on" }],
      fallthrough: { split: { on: 50, off: 50 } },
    };
  }
  const gates: NonNullable<FlagsDocument["gates"]> = [
    { id: "shop", pattern: "/shop/*", flag: "shop-open", allow: ["on"], deny: { status: 451 } },
  ];
  for (let i = 0; i < 9; i++) {
    gates.push({ pattern: `/area-${i}/:id/*`, flag: "shop-open", allow: ["on"], deny: { status: 403 } });
  }
  return { flags, gates };
}

async function snapshotAndKeys() {
  const { jwks, sign } = await ephemeralSigner();
  return { jwks, jws: await sign(flagsDoc(), { environment: "bench", version: 1 }) };
}

function startOrigin(): Promise<{ url: string; close: () => void }> {
  const html = page();
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60" });
    res.end(html);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
    }),
  );
}

/** Prints the figures; the headline is the p50 added by the full gateway over the direct origin. */
export async function run(): Promise<void> {
  const origin = await startOrigin();
  const { jwks, jws } = await snapshotAndKeys();
  const base = {
    EDGEFLAGS_ENV: "bench",
    EDGEFLAGS_PUBLIC_KEYS: jwks,
    PUBLISH_TOKEN: BENCH_TOKEN,
    GATEWAY: "true",
    ORIGIN_URL: origin.url,
  };
  const cf = { country: "DE", continent: "EU", colo: "FRA" };
  const [bare, full] = await Promise.all([
    startLocalWorker({ bindings: { ...base, FORWARD_FLAGS: "false" }, cf }),
    startLocalWorker({ bindings: { ...base, INJECT_HTML: "true" }, cf }),
  ]);
  try {
    for (const w of [bare, full]) {
      await publishTo(`${w.url}/__edgeflags/v1/snapshot`, jws);
    }
    const cookie = { cookie: "ef_id=bench-visitor-1" };
    const check = await fetch(`${full.url}/shop/home`, { headers: cookie });
    const checked = await check.text();
    if (!checked.includes('id="edgeflags-flags"')) throw new Error("the gateway did not inject flags");
    console.log(`page: ${page().length} bytes from the origin, ${checked.length} bytes injected`);

    const scenarios: (LoadOptions & { name: string })[] = [
      { name: "origin direct (node:http)", url: `${origin.url}/shop/home` },
      { name: "gateway, pass-through only (no gate, no flags)", url: `${bare.url}/about` },
      {
        name: "gateway, gate + flags header + HTML injection",
        url: `${full.url}/shop/home`,
        headers: cookie,
      },
    ];
    const lat = new Map<string, { p50: number[]; p99: number[] }>();
    const tput = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of scenarios) {
        // One connection for latency (no queueing); eight for throughput.
        const one = await runLoad({ ...s, durationMs: DURATION_MS, connections: 1, warmupMs: 300 });
        const eight = await runLoad({ ...s, durationMs: DURATION_MS, connections: 8, warmupMs: 300 });
        if (one.errors + eight.errors > 0) throw new Error(`${s.name}: ${one.errors + eight.errors} errors`);
        const l = lat.get(s.name) ?? { p50: [], p99: [] };
        l.p50.push(one.p50us);
        l.p99.push(one.p99us);
        lat.set(s.name, l);
        tput.set(s.name, [...(tput.get(s.name) ?? []), eight.rps]);
      }
    }
    console.log(`medians of ${ROUNDS} interleaved rounds, ${DURATION_MS / 1000} s each`);
    console.log("| scenario | p50 ms (1 conn) | p99 ms (1 conn) | req/s (8 conns) |");
    console.log("|---|---:|---:|---:|");
    const p50 = (name: string) => median(lat.get(name)!.p50) / 1000;
    for (const s of scenarios) {
      const l = lat.get(s.name)!;
      console.log(
        `| ${s.name} | ${p50(s.name).toFixed(3)} | ${(median(l.p99) / 1000).toFixed(3)} | ${Math.round(median(tput.get(s.name)!))} |`,
      );
    }
    const [direct, passThrough, gated] = scenarios.map((s) => p50(s.name)) as [number, number, number];
    console.log(
      `\nadded p50 over the direct origin: ${(gated - direct).toFixed(3)} ms with gates + injection ` +
        `(${(passThrough - direct).toFixed(3)} ms of it is the workerd hop itself; ` +
        `gates, flags and injection: ${(gated - passThrough).toFixed(3)} ms); target <= 1 ms`,
    );
  } finally {
    await Promise.all([bare.dispose(), full.dispose()]);
    origin.close();
  }
}
