/**
 * What stays out of the worker bundle: the ReDoS analyser (recheck) stays on the publisher side, and
 * nothing of jose or @noble/hashes is bundled (the worker reads JWS and JWTs with WebCrypto, and hashes
 * with node:crypto, which workerd provides). Bundles src/worker.ts in memory with esbuild, as wrangler
 * does (no files written).
 */
import { build } from "esbuild";
import { beforeAll, expect, it } from "vitest";

let inputs: string[];
let bundled: string[];
beforeAll(async () => {
  const result = await build({
    entryPoints: ["src/worker.ts"],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    outfile: "worker.js",
    logLevel: "silent",
  });
  inputs = Object.keys(result.metafile.inputs);
  const output = Object.values(result.metafile.outputs)[0];
  bundled = Object.entries(output?.inputs ?? {})
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([k]) => k);
});

it("the worker bundle has the structural regex check but not recheck", () => {
  expect(inputs).toContain("src/eval/regex-safety.ts");
  expect(inputs.filter((i) => /recheck|synckit|src\/flags\/(redos|conditions|formats)\.ts/.test(i))).toEqual(
    [],
  );
});

it("the worker bundle carries nothing of jose or @noble/hashes", () => {
  expect(bundled).toContain("src/http/jwt.ts");
  expect(bundled.filter((i) => /node_modules\/(jose|@noble)\//.test(i))).toEqual([]);
});
