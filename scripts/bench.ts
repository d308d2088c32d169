/**
 * `npm run bench [-- section ...]`: runs the benchmark sections in order and prints their figures.
 * Each section lives in scripts/bench/<name>.ts and exports `run(): Promise<void>`; it measures
 * against a baseline in the same run (ratios), because shared machines are noisy.
 */
const SECTIONS = [
  "engine",
  "parse",
  "http",
  "counts",
  "cold",
  "bundle",
  "cli",
  "publish",
  "gateway",
  "propagation",
  "streams",
  "refs",
] as const;

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !(SECTIONS as readonly string[]).includes(w));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`);
  process.exit(2);
}
for (const name of SECTIONS) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n## ${name}\n`);
  const mod = (await import(`./bench/${name}.ts`)) as { run: () => Promise<void> };
  await mod.run();
}
export {};
