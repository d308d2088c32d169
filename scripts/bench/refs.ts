/**
 * `edgeflags refs` on a large monorepo: generates a 100,000-file tree in a temporary folder (small
 * TypeScript, Python, Go, template and Markdown files in 1,000 packages, a nested .gitignore per
 * package, some files referencing some of 500 flags through SDK calls and literals), then times the
 * walk + scan against `grep -rF` for one of the keys over the same tree (a plain read of every file) in
 * the same run, warm cache, median of 3 each, interleaved. Deletes the tree. I/O: a temporary folder,
 * child processes. `node --import tsx scripts/bench/refs.ts`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compileMatcher, DEFAULT_PATTERNS, scanFiles, walkFiles } from "../../src/publisher/refs";
import { median } from "../lib/stats";

const FILES = 100_000;
const PACKAGES = 1_000;
const FLAGS = 500;
const RUNS = 3;

/** A deterministic pseudo-random sequence, so every run scans the same tree. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const LINES = [
  "export function handler(req: Request): Response {",
  "  const value = compute(req.headers.get('x-user') ?? 'anonymous', 42);",
  "  // TODO: clean this up once the migration is done",
  '  logger.info("request handled", { status: 200, path: req.url });',
  "  return new Response(JSON.stringify({ ok: true }), { status: 200 });",
  "}",
];

function fileText(r: () => number, ext: string, keys: string[]): string {
  const lines: string[] = [];
  const n = 20 + Math.floor(r() * 60); // 20-80 lines: 1-4 KB
  for (let i = 0; i < n; i++) lines.push(LINES[Math.floor(r() * LINES.length)] as string);
  if (r() < 0.1) {
    const key = keys[Math.floor(r() * keys.length)] as string;
    const ref =
      ext === "py"
        ? `if client.get_boolean_value("${key}", False):`
        : ext === "go"
          ? `on, _ := client.BooleanValue(ctx, "${key}", false, ec)`
          : ext === "md"
            ? `The \`"${key}"\` flag gates this.`
            : `const on = await client.getBooleanValue("${key}", false);`;
    lines.splice(Math.floor(r() * lines.length), 0, ref);
  }
  return `${lines.join("\n")}\n`;
}

/** Writes the tree; returns its folder and the flag keys. */
export function generate(): { dir: string; keys: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "edgeflags-bench-refs-"));
  const r = rng(16);
  const keys = Array.from({ length: FLAGS }, (_, i) => `team-${i % 37}.feature-${i}`);
  const exts = ["ts", "ts", "ts", "tsx", "py", "go", "md", "html"];
  const perPackage = FILES / PACKAGES;
  for (let p = 0; p < PACKAGES; p++) {
    const pkg = join(dir, "packages", `pkg-${p}`);
    for (const sub of ["src", "src/lib", "test"]) mkdirSync(join(pkg, sub), { recursive: true });
    writeFileSync(join(pkg, ".gitignore"), "dist/\n*.generated.ts\n");
    for (let f = 0; f < perPackage - 1; f++) {
      const ext = exts[f % exts.length] as string;
      const sub = f % 3 === 0 ? "src" : f % 3 === 1 ? "src/lib" : "test";
      writeFileSync(join(pkg, sub, `file-${f}.${ext}`), fileText(r, ext, keys));
    }
  }
  writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
  return { dir, keys };
}

function timeMs(fn: () => void): number {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function run(): Promise<void> {
  const genStarted = performance.now();
  const { dir, keys } = generate();
  const genMs = performance.now() - genStarted;
  try {
    const matcher = compileMatcher(
      keys,
      DEFAULT_PATTERNS.map((p) => p.source),
    );
    let files = 0;
    let references = 0;
    let walkMs = 0;
    const refs = async () => {
      const walkStarted = performance.now();
      const walked = walkFiles({ cwd: dir });
      walkMs = performance.now() - walkStarted;
      const scan = scanFiles(walked.files, matcher);
      files = scan.scanned;
      references = scan.hits.length;
    };
    const grep = () => {
      const r = spawnSync("grep", ["-rF", "--exclude-dir=node_modules", "-c", keys[0] as string, dir], {
        stdio: "ignore",
      });
      if (r.error) throw r.error;
    };
    await refs(); // warm the file cache
    grep();
    const samples = { refs: [] as number[], walk: [] as number[], grep: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      samples.refs.push(await timeAsync(refs));
      samples.walk.push(walkMs);
      samples.grep.push(timeMs(grep));
    }
    const m = { refs: median(samples.refs), walk: median(samples.walk), grep: median(samples.grep) };
    console.log(
      `Node ${process.version}; ${files.toLocaleString("en")} files in ${PACKAGES.toLocaleString("en")} packages (generated in ${(genMs / 1000).toFixed(1)} s), ${FLAGS} flags + ${DEFAULT_PATTERNS.length} default patterns, ${references.toLocaleString("en")} references; warm cache, median of ${RUNS}\n`,
    );
    console.log("| scan | median | per 1,000 files |\n|---|---:|---:|");
    const row = (name: string, ms: number) =>
      console.log(`| ${name} | ${ms.toFixed(0)} ms | ${((ms / files) * 1000).toFixed(1)} ms |`);
    row("edgeflags refs: walk (1,001 .gitignore files)", m.walk);
    row("edgeflags refs: walk + read + match", m.refs);
    row("grep -rF one key (baseline: read every file)", m.grep);
    console.log(`\nrefs / grep: ${(m.refs / m.grep).toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run();
