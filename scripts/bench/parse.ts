/**
 * Reading a flags file: parseFlagsFile (YAML parse, duplicate keys, schema and semantic checks, split
 * order) for 10,000 and 50,000 small flags, next to the yaml library's parseDocument alone on the same
 * text (the floor). Linear work shows as the same microseconds per flag at both sizes. The 50,000-flag
 * file is just under the 5 MiB limit (MAX_FLAGS_FILE_BYTES). No I/O.
 */
import { LineCounter, parseDocument } from "yaml";
import { MAX_FLAGS_FILE_BYTES, parseFlagsFile } from "../../src/flags/parse";
import { median } from "../lib/stats";

const RUNS = 3;
const SIZES = [10_000, 50_000];

/** `n` flags of about 100 bytes each, the smallest a real file has (owner, kind, a description). */
function flagsFile(n: number): string {
  const lines = ["flags:"];
  for (let i = 0; i < n; i++) {
    lines.push(`  flag-${i}:`, `    description: Flag number ${i}.`, `    owner: team-${i % 7}`);
    lines.push("    kind: ops", "    fallthrough: on");
  }
  return `${lines.join("\n")}\n`;
}

function timed(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    globalThis.gc?.();
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function run(): Promise<void> {
  console.log(`| flags | file | parseFlagsFile (median of ${RUNS}) | per flag | yaml parseDocument alone |`);
  console.log("|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const text = flagsFile(n);
    if (text.length > MAX_FLAGS_FILE_BYTES) throw new Error(`${n} flags do not fit the file limit`);
    const problems = parseFlagsFile(text, "bench.yaml").problems.length;
    if (problems > 0) throw new Error(`the bench file has ${problems} problems`);
    const full = timed(() => parseFlagsFile(text, "bench.yaml"));
    const floor = timed(() => parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: false }));
    const mib = (text.length / (1024 * 1024)).toFixed(2);
    console.log(
      `| ${n.toLocaleString("en")} | ${mib} MiB | ${full.toFixed(0)} ms | ${((full * 1000) / n).toFixed(1)} µs | ${floor.toFixed(0)} ms |`,
    );
  }
}
