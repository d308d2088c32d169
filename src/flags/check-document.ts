/**
 * Document-wide semantic checks: prerequisite references and cycles, segments, every flag, gates.
 * Pure, no I/O.
 */
import { arr, type Obj, obj, type Report, str } from "./access";
import { checkFlag, variantNames } from "./check-flag";
import { checkGates } from "./check-gates";
import { checkCondition } from "./conditions";
import { describe, didYouMean, listOf } from "./messages";

/** Runs every semantic check on a (possibly malformed) document. */
export function checkDocument(input: unknown, report: Report): void {
  const root = obj(input);
  if (!root) return;
  const flags = obj(root.flags) ?? {};
  const segments = obj(root.segments) ?? {};
  for (const [key, flag] of Object.entries(flags)) checkFlag(key, flag, segments, report);
  checkPrerequisites(flags, report);
  for (const [name, segment] of Object.entries(segments)) checkSegment(name, segment, report);
  checkGates(root, report);
}

function checkPrerequisites(flags: Obj, report: Report): void {
  const known = Object.keys(flags);
  const edges = new Map<string, { to: string; index: number }[]>();
  for (const [key, raw] of Object.entries(flags)) {
    const out: { to: string; index: number }[] = [];
    edges.set(key, out);
    arr(obj(raw)?.prerequisites).forEach((p, i) => {
      const prereq = obj(p);
      const target = str(prereq?.flag);
      if (!prereq || target === undefined) return;
      const at = ["flags", key, "prerequisites", i];
      if (target === key) {
        report([...at, "flag"], `flag "${key}" cannot be its own prerequisite`);
        return;
      }
      if (!Object.hasOwn(flags, target)) {
        report([...at, "flag"], `unknown flag ${describe(target)}${didYouMean(target, known)}`);
        return;
      }
      out.push({ to: target, index: i });
      const targetFlag = obj(flags[target]);
      const names = targetFlag && variantNames(targetFlag);
      if (!names) return;
      arr(prereq.variants).forEach((variant, j) => {
        if (typeof variant === "string" && !names.includes(variant)) {
          report(
            [...at, "variants", j],
            `flag "${target}" has no variant ${describe(variant)}; its variants are: ${listOf(names)}`,
          );
        }
      });
    });
  }
  reportCycles(edges, report);
}

/** Depth-first search; each cycle is reported once, at the prerequisite that closes it. */
function reportCycles(edges: Map<string, { to: string; index: number }[]>, report: Report): void {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (key: string): void => {
    state.set(key, "open");
    stack.push(key);
    for (const { to, index } of edges.get(key) ?? []) {
      const s = state.get(to);
      if (s === "open") {
        const cycle = [...stack.slice(stack.indexOf(to)), to];
        report(["flags", key, "prerequisites", index, "flag"], `prerequisite cycle: ${cycle.join(" -> ")}`);
      } else if (s === undefined) {
        visit(to);
      }
    }
    stack.pop();
    state.set(key, "done");
  };
  for (const key of edges.keys()) if (!state.has(key)) visit(key);
}

function checkSegment(name: string, raw: unknown, report: Report): void {
  const segment = obj(raw);
  if (!segment) return;
  const at = ["segments", name];
  const included = new Set(arr(segment.included));
  arr(segment.excluded).forEach((key, i) => {
    if (typeof key === "string" && included.has(key)) {
      report(
        [...at, "excluded", i],
        `key ${describe(key)} is both included in and excluded from segment "${name}"`,
      );
    }
  });
  arr(segment.rules).forEach((rule, i) => {
    arr(obj(rule)?.when).forEach((c, j) => {
      checkCondition(c, [...at, "rules", i, "when", j], report, undefined);
    });
  });
}
