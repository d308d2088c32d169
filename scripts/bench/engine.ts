/**
 * Engine benchmark: 100 boolean flags x 10,000 contexts, evaluateAll and evaluateValues against a
 * hand-written evaluator specialised to this scenario (and flagd-core as a second baseline), single-flag
 * evaluate() at 100 / 1,000 / 10,000 flags, plus compile time and retained heap for those sizes. Every
 * timed loop folds every value it gets into a checksum that is printed and cross-checked, so no work
 * can be skipped as dead. Reads no files, no network.
 */
import { FlagdCore } from "@openfeature/flagd-core";
import murmur from "murmurhash-js";
import { type CompiledFlags, compile, evaluate, evaluateAll, evaluateValues } from "../../src/eval/index";
import type { EvaluationContext } from "../../src/eval/types";
import type { FlagsDocument } from "../../src/flags/types";
import { median } from "../lib/stats";
import {
  BLOCKED,
  betaIds,
  CONTEXTS,
  countriesFor,
  FLAGS,
  flagKey,
  ownCountriesDoc,
  ownTargetsDoc,
  scenarioContexts,
  scenarioDoc,
  sharedTargetsDoc,
  staffIds,
  wideDoc,
} from "./scenario";

const RUNS = 7;
/** Single calls are short and the ratio between sizes is the point: more passes steady the median. */
const SINGLE_RUNS = 15;
const NOW = Date.UTC(2026, 0, 1);

function naive(beta: string[]) {
  const sets = Array.from({ length: FLAGS }, (_, i) => new Set(countriesFor(i % 10)));
  const keys = Array.from({ length: FLAGS }, (_, i) => flagKey(i, FLAGS));
  const betaSet = new Set(beta);
  const blocked = new Set(BLOCKED);
  return (ctx: EvaluationContext, out: boolean[]): void => {
    const user = ctx.targetingKey!;
    const country = ctx.geo!.country!;
    const enterprise = ctx.attributes!.plan === "enterprise";
    const inBeta = betaSet.has(user);
    const isBlocked = blocked.has(country);
    for (let i = 0; i < FLAGS; i++) {
      if (enterprise && sets[i]!.has(country)) out[i] = true;
      else if (inBeta) out[i] = true;
      else if (isBlocked) out[i] = false;
      else out[i] = Math.floor((murmur.murmur3(keys[i]! + user, 0) * 100) / 4294967296) < 25;
    }
  };
}

function mix(h1: number, k1: number): number {
  k1 = Math.imul(k1, 0xcc9e2d51);
  k1 = (k1 << 15) | (k1 >>> 17);
  h1 ^= Math.imul(k1, 0x1b873593);
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

function word(s: string, i: number): number {
  return (
    s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)
  );
}

/**
 * The baseline: the scenario hand-coded as tightly as it goes. Flag keys are 8 ASCII bytes, so each
 * flag's salt is pre-hashed into two whole blocks; the user id is cut into blocks once per context.
 * Written independently of the engine (its own MurmurHash3), so it also cross-checks it.
 */
function specialised(beta: string[]) {
  const sets = Array.from({ length: FLAGS }, (_, i) => new Set(countriesFor(i % 10)));
  const salts = Array.from({ length: FLAGS }, (_, i) => {
    const k = flagKey(i, FLAGS);
    return mix(mix(0, word(k, 0)), word(k, 4));
  });
  const betaSet = new Set(beta);
  const blocked = new Set(BLOCKED);
  const words = new Int32Array(16);
  return (ctx: EvaluationContext, out: boolean[]): void => {
    const user = ctx.targetingKey!;
    const country = ctx.geo!.country!;
    const enterprise = ctx.attributes!.plan === "enterprise";
    const inBeta = betaSet.has(user);
    const isBlocked = blocked.has(country);
    const n = user.length;
    const whole = n >> 2;
    for (let w = 0; w < whole; w++) words[w] = word(user, w * 4);
    let tail = 0;
    for (let i = whole * 4, j = 0; i < n; i++, j++) tail |= user.charCodeAt(i) << (8 * j);
    for (let i = 0; i < FLAGS; i++) {
      if (enterprise && sets[i]!.has(country)) out[i] = true;
      else if (inBeta) out[i] = true;
      else if (isBlocked) out[i] = false;
      else {
        let h = salts[i]!;
        for (let w = 0; w < whole; w++) h = mix(h, words[w]!);
        if (n & 3) {
          let k1 = Math.imul(tail, 0xcc9e2d51);
          k1 = (k1 << 15) | (k1 >>> 17);
          h ^= Math.imul(k1, 0x1b873593);
        }
        h ^= 8 + n;
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        out[i] = Math.floor(((h >>> 0) * 100) / 4294967296) < 25;
      }
    }
  };
}

function flagdConfig(beta: string[]): string {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < FLAGS; i++) {
    flags[flagKey(i, FLAGS)] = {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: {
        if: [
          {
            and: [
              { in: [{ var: "country" }, countriesFor(i % 10)] },
              { "==": [{ var: "plan" }, "enterprise"] },
            ],
          },
          "on",
          { $ref: "beta" },
          "on",
          { in: [{ var: "country" }, BLOCKED] },
          "off",
          {
            fractional: [
              ["on", 25],
              ["off", 75],
            ],
          },
        ],
      },
    };
  }
  return JSON.stringify({ flags, $evaluators: { beta: { in: [{ var: "targetingKey" }, beta] } } });
}

/**
 * Median ns per context of each candidate over `runs` passes of `contexts`. Candidates take turns
 * pass by pass, so load from other processes on the machine hits them all alike.
 */
function timeAll(
  contexts: readonly EvaluationContext[],
  candidates: readonly ((ctx: EvaluationContext) => void)[],
  runs = RUNS,
): number[] {
  for (const work of candidates) for (const ctx of contexts) work(ctx); // warm-up pass
  const samples = candidates.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    candidates.forEach((work, c) => {
      const t0 = process.hrtime.bigint();
      for (const ctx of contexts) work(ctx);
      samples[c]!.push(Number(process.hrtime.bigint() - t0) / contexts.length);
    });
  }
  return samples.map(median);
}

function line(label: string, nsPerContext: number, baseline?: number): void {
  const perFlag = (nsPerContext / FLAGS).toFixed(1).padStart(7);
  const rate = Math.round(1e9 / nsPerContext)
    .toLocaleString("en-US")
    .padStart(10);
  const ratio = baseline === undefined ? "" : `  ${(nsPerContext / baseline).toFixed(2)}x baseline`;
  console.log(`${label.padEnd(34)} ${perFlag} ns/flag  ${rate} contexts/s${ratio}`);
}

/** Snapshots held on purpose while the heap is measured; module state, so nothing can elide them. */
const live: unknown[] = [];

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error("run with node --expose-gc (npm run bench does)");
  g();
  g();
}

export async function run(): Promise<void> {
  const beta = betaIds();
  const contexts = scenarioContexts();
  const compiled = compile(scenarioDoc(FLAGS, beta));
  const baseline = specialised(beta);
  const naiveBaseline = naive(beta);

  // The engine and the baseline must agree on every answer, or the comparison means nothing.
  const expected: boolean[] = new Array(FLAGS);
  const naiveExpected: boolean[] = new Array(FLAGS);
  let on = 0;
  for (const ctx of contexts) {
    baseline(ctx, expected);
    naiveBaseline(ctx, naiveExpected);
    if (naiveExpected.some((v, i) => v !== expected[i])) throw new Error("the two baselines disagree");
    const got = evaluateAll(compiled, ctx, NOW);
    for (let i = 0; i < FLAGS; i++) {
      if (got[i]!.value !== expected[i]) throw new Error(`engine disagrees with baseline on ${got[i]!.key}`);
      if (expected[i]) on++;
    }
  }

  // One checksum per candidate, over every value it produced in every pass (warm-up included).
  const sums = [0, 0, 0, 0];
  const out: boolean[] = new Array(FLAGS);
  const keys = compiled.keys;
  const [base, naiveNs, all, values] = timeAll(contexts, [
    (ctx) => {
      baseline(ctx, out);
      sums[0]! += checksumBooleans(out);
    },
    (ctx) => {
      naiveBaseline(ctx, out);
      sums[1]! += checksumBooleans(out);
    },
    (ctx) => {
      const results = evaluateAll(compiled, ctx, NOW);
      let s = 0;
      for (let i = 0; i < results.length; i++) if (results[i]!.value === true) s += i + 1;
      sums[2]! += s;
    },
    (ctx) => {
      const record = evaluateValues(compiled, ctx, NOW);
      let s = 0;
      for (let i = 0; i < keys.length; i++) if (record[keys[i]!] === true) s += i + 1;
      sums[3]! += s;
    },
  ]) as [number, number, number, number];
  if (sums.some((v) => v !== sums[0])) throw new Error(`checksums differ: ${sums.join(", ")}`);

  console.log(
    `scenario: ${FLAGS} boolean flags, ${CONTEXTS.toLocaleString("en-US")} contexts, ` +
      `${((100 * on) / (FLAGS * CONTEXTS)).toFixed(1)}% on; median of ${RUNS} runs\n`,
  );
  line("specialised JS (baseline)", base);
  line("naive JS (murmurhash-js + concat)", naiveNs, base);
  line("engine evaluateAll", all!, base);
  line("engine evaluateValues", values, base);
  console.log(`  checksum ${sums[0]} (baseline, naive, evaluateAll, evaluateValues agree)`);

  try {
    const flagd = new FlagdCore();
    flagd.setConfigurations(flagdConfig(beta));
    const sample = contexts.slice(0, 1_000);
    const flat = sample.map((c) => ({
      targetingKey: c.targetingKey!,
      country: c.geo!.country!,
      plan: c.attributes!.plan as string,
    }));
    for (let j = 0; j < flat.length; j++) {
      baseline(sample[j]!, expected);
      for (const d of flagd.resolveAll(flat[j])) {
        if (d.value !== expected[Number(d.flagKey.slice(5))])
          throw new Error(`flagd disagrees on ${d.flagKey}`);
      }
    }
    const byCtx = new Map(sample.map((c, j) => [c, flat[j]!]));
    let flagdSum = 0;
    const [flagdNs] = timeAll(
      sample,
      [
        (ctx) => {
          const got = flagd.resolveAll(byCtx.get(ctx));
          for (let i = 0; i < got.length; i++) if (got[i]!.value === true) flagdSum += i + 1;
        },
      ],
      5,
    ) as [number];
    line("flagd-core resolveAll (1,000 ctx)", flagdNs, base);
    console.log(`  engine evaluateAll is ${(flagdNs / all).toFixed(1)}x faster than flagd-core`);
    console.log(`  checksum ${flagdSum}`);
  } catch (err) {
    console.log(`flagd-core baseline skipped: ${(err as Error).message}`);
  }

  harderDocuments(beta, contexts, sums[0]!);
  singleFlag(beta, contexts);

  console.log("\ncompile (median of 7) and retained heap after gc:");
  for (const count of [100, 1_000, 10_000]) {
    const doc = scenarioDoc(count, beta);
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      compile(doc);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    // Several live copies for the small sizes, so the figure is not lost in heap noise.
    const copies = Math.max(1, Math.floor(10_000 / count));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < copies; i++) live.push(compile(doc));
    gc();
    const retained = (process.memoryUsage().heapUsed - before) / copies;
    live.length = 0;
    console.log(
      `  ${count.toLocaleString("en-US").padStart(6)} flags: compile ${median(times).toFixed(2).padStart(7)} ms, ` +
        `retained ${(retained / 1024).toFixed(0).padStart(6)} KiB (${(retained / count).toFixed(0)} B/flag)`,
    );
  }

  // The same long target list pasted into every flag (say, an allow-list of staff ids).
  const staff = Array.from({ length: 1_000 }, (_, i) => `staff-${i}`);
  const doc = scenarioDoc(1_000, beta);
  for (const flag of Object.values(doc.flags)) flag.targets = { on: staff };
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  live.push(compile(doc));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  live.length = 0;
  console.log(
    `   1,000 flags with one 1,000-key target list each: compile ${ms.toFixed(2)} ms, ` +
      `retained ${(retained / 1024).toFixed(0)} KiB`,
  );
  sharedListCompile(beta);
}

/**
 * The scenario's flags, each holding its own copy of one 10,000-key target list as a parsed file does
 * (separate arrays and strings), against the same flags without it: what the list costs to compile and
 * to keep. Interned, the copies should cost about one Set.
 */
function sharedListCompile(beta: string[]): void {
  const keys = staffIds(10_000);
  const docs: [string, FlagsDocument][] = [
    ["without the list", scenarioDoc(FLAGS, beta)],
    ["with the list in every flag", sharedTargetsDoc(FLAGS, beta, keys)],
  ];
  console.log(`
${FLAGS} flags and one 10,000-key target list copied into each (median of 7 compiles):`);
  for (const [label, doc] of docs) {
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      live.push(compile(doc));
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      live.length = 0;
    }
    // Ten live copies, so the figure is not lost in heap noise.
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10; i++) live.push(compile(doc));
    gc();
    const retained = (process.memoryUsage().heapUsed - before) / 10;
    live.length = 0;
    console.log(
      `  ${label.padEnd(28)} compile ${median(times).toFixed(2).padStart(7)} ms, ` +
        `retained ${(retained / 1024).toFixed(0).padStart(5)} KiB`,
    );
  }
}

/**
 * evaluateAll over documents that cost more than the reference scenario but answer the same (see
 * scenario.ts), timed in turns with the reference: ns per flag and the ratio to the reference. Each
 * candidate's checksum must equal the reference's, and the reference's the one of the first section.
 */
function harderDocuments(beta: string[], contexts: readonly EvaluationContext[], expected: number): void {
  const docs: [string, FlagsDocument][] = [
    ["reference scenario", scenarioDoc(FLAGS, beta)],
    ["(a) >64 tests: own country list/flag", ownCountriesDoc(FLAGS, beta)],
    ["(b) own 100-key allow list/flag", ownTargetsDoc(FLAGS, beta, 100)],
    ["(c) one 10,000-key list in each flag", sharedTargetsDoc(FLAGS, beta, staffIds(10_000))],
  ];
  // The first section's checksum covers its warm-up and RUNS passes: so do these.
  const sums = docs.map(() => 0);
  const ns = timeAll(
    contexts,
    docs.map(([, doc], d) => {
      const compiled = compile(doc);
      return (ctx: EvaluationContext) => {
        const results = evaluateAll(compiled, ctx, NOW);
        let s = 0;
        for (let i = 0; i < results.length; i++) if (results[i]!.value === true) s += i + 1;
        sums[d]! += s;
      };
    }),
  );
  console.log(`
harder documents, same answers; evaluateAll, median of ${RUNS} runs, ratio per flag:`);
  docs.forEach(([label], d) => {
    const ratio = d === 0 ? "" : `  ${(ns[d]! / ns[0]!).toFixed(2)}x reference`;
    console.log(`${label.padEnd(38)} ${(ns[d]! / FLAGS).toFixed(1).padStart(6)} ns/flag${ratio}`);
  });
  if (sums.some((v) => v !== expected)) throw new Error(`checksums differ: ${sums.join(", ")}`);
  console.log(`  checksum ${expected} (every document, and the first section, agree)`);
}

/** A weighted sum of which flags are on: cheap, and changes if any one value changes. */
function checksumBooleans(values: readonly boolean[]): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) if (values[i]) s += i + 1;
  return s;
}

/**
 * Single-flag evaluate() (what an OFREP single-flag endpoint does) at 100 / 1,000 / 10,000 flags: its
 * cost must not grow with the snapshot. Each call evaluates a different flag for a different context,
 * cycling through 100 flags spread over the snapshot. Two documents: the scenario (conditions shared
 * by every flag) and a wide one (each flag has its own conditions; every odd one has the flag before it as a prerequisite), where a
 * memo sized to the snapshot would show.
 */
function singleFlag(beta: string[], contexts: readonly EvaluationContext[]): void {
  const sizes = [100, 1_000, 10_000];
  for (const [label, build] of [
    ["scenario", (n: number) => scenarioDoc(n, beta)],
    ["wide", (n: number) => wideDoc(n, beta)],
  ] as const) {
    const snapshots: [CompiledFlags, string[]][] = sizes.map((n) => {
      const c = compile(build(n));
      const picked = Array.from({ length: 100 }, (_, j) => c.keys[Math.floor((j * n) / 100)]!);
      return [c, picked];
    });
    const sums = sizes.map(() => 0);
    // Every size sees the same contexts in the same order, so with `index` cycling 0..99 the
    // checksums differ only by what the flags answer, and each is printed.
    const ns = timeAll(
      contexts,
      snapshots.map(([c, picked], s) => {
        let j = 0;
        return (ctx: EvaluationContext) => {
          const r = evaluate(c, picked[j]!, ctx, NOW);
          if (r.value === true) sums[s]! += j + 1;
          j = j === 99 ? 0 : j + 1;
        };
      }),
      SINGLE_RUNS,
    );
    console.log(`\nsingle-flag evaluate() (${label} document), ns per call, median of ${SINGLE_RUNS} runs:`);
    sizes.forEach((n, s) => {
      console.log(
        `  ${n.toLocaleString("en-US").padStart(6)} flags: ${ns[s]!.toFixed(1).padStart(7)} ns  checksum ${sums[s]}`,
      );
    });
    console.log(`  10,000 / 100 flags: ${(ns[2]! / ns[0]!).toFixed(2)}x`);
  }
}
