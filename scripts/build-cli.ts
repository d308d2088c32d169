/**
 * `npm run build` (and `prepack`): bundles the `edgeflags` CLI into plain JavaScript under dist/, so
 * the installed package runs without TypeScript. One ESM entry (dist/cli.mjs, what bin/edgeflags.mjs
 * loads) with each command and target in a chunk of its own under dist/chunks/, loaded when it runs.
 * Also dist/client.mjs, the browser helper for outcome events (src/client), exported as
 * `edgeflags/client`. I/O: replaces dist/.
 *
 * Bundled: our code and the pure-JavaScript libraries it uses (commander, yaml, valibot, jose, and the
 * `cloudflare` client in the kv-api target's chunk): a few files to read instead of hundreds is most
 * of the start-up time (the kv-api chunk loads in about 0.15 s where `import("cloudflare")` takes
 * 0.8 s), and installing the package does not fetch the client's 120 MB. Their licences go to
 * dist/THIRD-PARTY-LICENSES.txt. Left to npm, as imports: `recheck` (the ReDoS analyser, the one
 * runtime dependency: loaded on first use, with optional builds per platform) and `miniflare` (an
 * optional peer: the local target uses the one wrangler brings).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist");

/** Imports resolved by npm at run time rather than bundled. */
export const EXTERNAL = ["recheck", "miniflare"];

/** The licence texts of every package bundled, as one file (MIT, ISC and Apache-2.0 ask for them). */
function thirdPartyLicenses(inputs: string[]): string {
  const packages = new Set<string>();
  for (const input of inputs) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) packages.add(m[1]);
  }
  const sections = [...packages].sort().map((name) => {
    const dir = join(root, "node_modules", name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      version: string;
      license?: string;
    };
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = file
      ? readFileSync(join(dir, file), "utf8").trim()
      : `License: ${pkg.license ?? "see the package"}`;
    return `${name}@${pkg.version} (${pkg.license ?? "unknown"})\n\n${text}\n`;
  });
  return `The edgeflags CLI in this folder bundles the following packages.\n\n${sections.join(`\n${"-".repeat(72)}\n\n`)}`;
}

/** Builds the CLI into `outdir` and returns the files written with their sizes. */
export async function buildCli(dir = outdir): Promise<{ file: string; bytes: number }[]> {
  rmSync(dir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: "src/publisher/cli.ts" },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    // commander is CommonJS and `require`s Node's built-ins: give the ESM bundle a `require` for it.
    banner: {
      js: 'import { createRequire as __edgeflagsRequire } from "node:module"; const require = __edgeflagsRequire(import.meta.url);',
    },
    metafile: true,
    logLevel: "warning",
  });
  // The browser helper front-ends import as `edgeflags/client` (README "Outcome events"): one plain
  // ES module, no dependencies.
  const client = await build({
    absWorkingDir: root,
    entryPoints: { client: "src/client/index.ts" },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    metafile: true,
    logLevel: "warning",
  });
  Object.assign(result.metafile.outputs, client.metafile.outputs);
  const licenses = join(dir, "THIRD-PARTY-LICENSES.txt");
  writeFileSync(licenses, thirdPartyLicenses(Object.keys(result.metafile.inputs)));
  const files = Object.entries(result.metafile.outputs).map(([file, o]) => ({ file, bytes: o.bytes }));
  for (const [file, o] of Object.entries(result.metafile.outputs)) {
    const leaked = o.imports.filter((i) => /^(tsx|typescript|esbuild)(\/|$)/.test(i.path));
    if (leaked.length > 0) throw new Error(`${file} imports ${leaked.map((i) => i.path).join(", ")}`);
  }
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildCli();
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const entry = files.find((f) => f.file.endsWith("/cli.mjs"));
  console.log(
    `built ${relative(root, outdir)}/: cli.mjs ${Math.round((entry?.bytes ?? 0) / 1024)} KB, ` +
      `${files.length - 1} chunks, ${Math.round(total / 1024)} KB in all`,
  );
}
