/**
 * The ReDoS analyser stays on the publisher side: the worker bundle carries compile's structural
 * regex check and nothing of recheck. Bundles src/worker.ts in memory with esbuild (no files written).
 */
import { build } from "esbuild";
import { expect, it } from "vitest";

it("the worker bundle has the structural regex check but not recheck", async () => {
  const result = await build({
    entryPoints: ["src/worker.ts"],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs).toContain("src/eval/regex-safety.ts");
  expect(inputs.filter((i) => /recheck|synckit|src\/flags\/(redos|conditions|formats)\.ts/.test(i))).toEqual(
    [],
  );
});
