/**
 * Start-up of the installed CLI: packs the repository, installs the tarball into an empty project
 * (scripts/lib/pack-install.ts) and times `edgeflags --help` and a `validate` there, spawned 20 times
 * each, interleaved with `node -e ""` (the floor: Node's own start-up) and, for comparison, the
 * repository's bin running the sources through tsx. Medians; target: `--help` well under 200 ms.
 * `node --import tsx scripts/bench/cli.ts`. I/O: npm, a temporary folder, child processes.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanEnv, packAndInstall } from "../lib/pack-install";
import { median } from "../lib/stats";

const RUNS = 20;
const TARGET_MS = 200;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function spawnMs(command: string, args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { cwd, env: cleanEnv(), stdio: "ignore" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

export async function run(): Promise<void> {
  const installed = await packAndInstall();
  const { app } = installed;
  writeFileSync(
    join(app, "flags.yaml"),
    "flags:\n  banner:\n    owner: web\n    kind: ops\n    fallthrough: on\n",
  );
  const bin = join(app, "node_modules", ".bin", "edgeflags");
  const repoBin = join(root, "bin", "edgeflags.mjs");
  const cases: [string, () => number][] = [
    ['node -e ""', () => spawnMs(process.execPath, ["-e", ""], app)],
    ["installed: edgeflags --help", () => spawnMs(bin, ["--help"], app)],
    ["installed: edgeflags validate flags.yaml", () => spawnMs(bin, ["validate", "flags.yaml"], app)],
    ["repository (tsx): edgeflags --help", () => spawnMs(process.execPath, [repoBin, "--help"], app)],
  ];
  for (const [, once] of cases) once(); // warm the file cache
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    cases.forEach(([, once], c) => {
      samples[c]?.push(once());
    });
  }
  const base = median(samples[0] ?? []);
  console.log(
    `Node ${process.version}; pack ${(installed.packMs / 1000).toFixed(1)} s, npm install ${(installed.installMs / 1000).toFixed(1)} s; median of ${RUNS} spawns each, interleaved\n`,
  );
  console.log('| command | median | over node -e "" |\n|---|---:|---:|');
  cases.forEach(([name], c) => {
    const m = median(samples[c] ?? []);
    console.log(`| ${name} | ${m.toFixed(0)} ms | ${c === 0 ? "-" : `+${(m - base).toFixed(0)} ms`} |`);
  });
  const help = median(samples[1] ?? []);
  console.log(
    `\n--help: ${help.toFixed(0)} ms, target < ${TARGET_MS} ms: ${help < TARGET_MS ? "met" : "missed"}`,
  );
  rmSync(installed.dir, { recursive: true, force: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run();
