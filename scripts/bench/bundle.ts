/**
 * Worker bundle size: `wrangler deploy --dry-run --minify` (what would be uploaded), gzipped, next to
 * a bare Hono hello-world worker minified the same way. I/O: writes dist/ and .wrangler/tmp.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { bundleWorker } from "../lib/local-worker";

function sizes(file: string) {
  const raw = readFileSync(file);
  return { raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
}
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export async function run(): Promise<void> {
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist", "--minify"], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const worker = sizes("dist/worker.js");
  const hello = sizes(await bundleWorker("scripts/bench/hello-worker.ts", true));
  console.log(
    `worker (wrangler deploy --dry-run --minify): ${kb(worker.raw)} minified, ${kb(worker.gzip)} gzip`,
  );
  console.log(
    `hello-world Hono worker (baseline):         ${kb(hello.raw)} minified, ${kb(hello.gzip)} gzip`,
  );
}
