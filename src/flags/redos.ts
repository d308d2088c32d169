/**
 * The publisher's full ReDoS analysis of `matches` patterns, by recheck (automata theory, with its
 * seeded fuzzer for what automata cannot model). It runs after the structural check that compile also
 * makes (src/eval/regex-safety.ts) and catches what that check lets through, such as the quadratic
 * search of an unanchored `\d+$`. Publisher side only: the worker never imports this file, so recheck
 * (about 3 MB of JavaScript) never reaches its bundle. recheck's in-process pure-JavaScript build is
 * loaded on first use: no native binary, no Java, no child process, no network.
 */
import { createRequire } from "node:module";
import type { checkSync as CheckSync, Diagnostics } from "recheck";

/** How long one analysis may take before the pattern counts as not proven safe. */
const TIMEOUT_MS = 10_000;

let checkSync: typeof CheckSync | undefined;
const verdicts = new Map<string, string | undefined>();

function analyser(): typeof CheckSync {
  if (checkSync === undefined) {
    // recheck's own switch: its synchronous API then runs the bundled Scala.js build in this thread
    // instead of a worker thread that would spawn its native agent.
    process.env.RECHECK_SYNC_BACKEND ??= "pure";
    checkSync = (createRequire(import.meta.url)("recheck") as { checkSync: typeof CheckSync }).checkSync;
  }
  return checkSync;
}

function analyse(pattern: string): Diagnostics {
  const check = analyser();
  // The automaton checker is exact where it applies, and deterministic. The fuzzer covers the rest
  // (a lookahead inside a repeat, say); seeded, and bounded by step counts rather than its default
  // time limits, so a pattern gets the same verdict on every machine.
  const exact = check(pattern, "", { checker: "automaton", timeout: TIMEOUT_MS });
  if (exact.status !== "unknown") return exact;
  return check(pattern, "", {
    checker: "fuzz",
    timeout: TIMEOUT_MS,
    randomSeed: 0,
    attackTimeout: null,
    incubationTimeout: null,
    seedingTimeout: null,
  });
}

/** The parts of the pattern recheck blames, merged and quoted: `"\d", "a."`. */
function hotspots(pattern: string, d: Diagnostics & { status: "vulnerable" }): string {
  const spans: { start: number; end: number }[] = [];
  for (const h of [...d.hotspot].sort((x, y) => x.start - y.start)) {
    const last = spans[spans.length - 1];
    if (last !== undefined && h.start <= last.end) last.end = Math.max(last.end, h.end);
    else spans.push({ start: h.start, end: h.end });
  }
  const parts = [...new Set(spans.map((span) => pattern.slice(span.start, span.end)))];
  return parts
    .slice(0, 3)
    .map((part) => JSON.stringify(part))
    .join(", ");
}

/**
 * What makes `pattern` able to take super-linear time, or undefined when recheck proves it linear.
 * Call it only on patterns that compile and pass the structural check (regexProblem). Verdicts are
 * kept for the life of the process.
 */
export function redosProblem(pattern: string): string | undefined {
  if (verdicts.has(pattern)) return verdicts.get(pattern);
  const d = analyse(pattern);
  let problem: string | undefined;
  const quoted = JSON.stringify(pattern);
  if (d.status === "vulnerable") {
    const at = hotspots(pattern, d);
    const hint =
      d.complexity.type === "polynomial" && !pattern.startsWith("^")
        ? `; it is tried from every position of the value, so anchor it with "^" or drop a leading repeat`
        : "";
    problem =
      `unsafe regular expression ${quoted}: matching can take ${d.complexity.summary.replace(" (fuzz)", "")} time on some ` +
      `inputs (ReDoS)${at ? ` because of ${at}` : ""}${hint}`;
  } else if (d.status === "unknown") {
    const why =
      "message" in d.error
        ? `${d.error.kind}: ${d.error.message}`
        : d.error.kind === "timeout"
          ? `the analysis took over ${TIMEOUT_MS / 1000} s`
          : d.error.kind;
    problem = `regular expression ${quoted} could not be proven safe from catastrophic backtracking: ${why}; simplify it`;
  }
  verdicts.set(pattern, problem);
  return problem;
}
