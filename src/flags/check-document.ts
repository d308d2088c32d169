/**
 * Document-wide semantic checks: prerequisite references and cycles, segments, every flag, gates.
 * Pure, no I/O.
 */
import { arr, at, type Loc, type Obj, obj, type Report, str } from "./access";
import { checkFlag, variantNames } from "./check-flag";
import { checkGates } from "./check-gates";
import { checkCondition } from "./conditions";
import { describe, didYouMean, listOf } from "./messages";

type Edge = { to: string; index: number };
const NO_EDGES: readonly Edge[] = [];

/** Runs every semantic check on a (possibly malformed) document. */
export function checkDocument(input: unknown, report: Report): void {
  const root = obj(input);
  if (!root) return;
  const flags = obj(root.flags) ?? {};
  const segments = obj(root.segments) ?? {};
  const flagsLoc = at(undefined, "flags");
  const segmentsLoc = at(undefined, "segments");
  for (const key of Object.keys(flags)) checkFlag(key, flags[key], segments, flagsLoc, report);
  checkPrerequisites(flags, flagsLoc, report);
  for (const name of Object.keys(segments)) checkSegment(name, segments[name], segmentsLoc, report);
  checkGates(root, report);
}

function checkPrerequisites(flags: Obj, flagsLoc: Loc, report: Report): void {
  let known: string[] | undefined;
  // Only flags with prerequisites have edges; the others cannot close a cycle.
  const edges = new Map<string, Edge[]>();
  for (const key of Object.keys(flags)) {
    const prerequisites = arr(obj(flags[key])?.prerequisites);
    if (prerequisites.length === 0) continue;
    const out: Edge[] = [];
    edges.set(key, out);
    const list = at(at(flagsLoc, key), "prerequisites");
    for (let i = 0; i < prerequisites.length; i++) {
      const prereq = obj(prerequisites[i]);
      const target = str(prereq?.flag);
      if (!prereq || target === undefined) continue;
      if (target === key) {
        report(at(at(list, i), "flag"), `flag "${key}" cannot be its own prerequisite`);
        continue;
      }
      if (!Object.hasOwn(flags, target)) {
        known ??= Object.keys(flags);
        report(at(at(list, i), "flag"), `unknown flag ${describe(target)}${didYouMean(target, known)}`);
        continue;
      }
      out.push({ to: target, index: i });
      const targetFlag = obj(flags[target]);
      const names = targetFlag && variantNames(targetFlag);
      if (!names) continue;
      const variants = arr(prereq.variants);
      for (let j = 0; j < variants.length; j++) {
        const variant = variants[j];
        if (typeof variant === "string" && !names.includes(variant)) {
          report(
            at(at(at(list, i), "variants"), j),
            `flag "${target}" has no variant ${describe(variant)}; its variants are: ${listOf(names)}`,
          );
        }
      }
    }
  }
  if (edges.size > 0) reportCycles(edges, flagsLoc, report);
}

/** Depth-first search; each cycle is reported once, at the prerequisite that closes it. */
function reportCycles(edges: Map<string, Edge[]>, flagsLoc: Loc, report: Report): void {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (key: string): void => {
    state.set(key, "open");
    stack.push(key);
    for (const { to, index } of edges.get(key) ?? NO_EDGES) {
      const s = state.get(to);
      if (s === "open") {
        const cycle = [...stack.slice(stack.indexOf(to)), to];
        report(
          at(at(at(at(flagsLoc, key), "prerequisites"), index), "flag"),
          `prerequisite cycle: ${cycle.join(" -> ")}`,
        );
      } else if (s === undefined) {
        visit(to);
      }
    }
    stack.pop();
    state.set(key, "done");
  };
  for (const key of edges.keys()) if (!state.has(key)) visit(key);
}

function checkSegment(name: string, raw: unknown, segmentsLoc: Loc, report: Report): void {
  const segment = obj(raw);
  if (!segment) return;
  const loc = at(segmentsLoc, name);
  const excluded = arr(segment.excluded);
  if (excluded.length > 0) {
    const included = new Set(arr(segment.included));
    for (let i = 0; i < excluded.length; i++) {
      const key = excluded[i];
      if (typeof key === "string" && included.has(key)) {
        report(
          at(at(loc, "excluded"), i),
          `key ${describe(key)} is both included in and excluded from segment "${name}"`,
        );
      }
    }
  }
  const rules = arr(segment.rules);
  for (let i = 0; i < rules.length; i++) {
    const when = arr(obj(rules[i])?.when);
    if (when.length === 0) continue;
    const whenLoc = at(at(at(loc, "rules"), i), "when");
    for (let j = 0; j < when.length; j++) checkCondition(when[j], whenLoc, j, report, undefined);
  }
}
