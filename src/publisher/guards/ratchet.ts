/**
 * The lint ratchet: a publish is blocked only by lint errors the change introduces or makes worse
 * compared with the live snapshot, linted at the same `now`. Pure, no I/O.
 */
import type { LintOverride } from "../../snapshot/format";
import type { LintFinding, LintRule } from "../lint";

/** What a finding is about: "flags.<key>" or "segments.<name>", the unit the ratchet compares. */
export function subjectOf(f: LintFinding): string {
  return f.path.slice(0, 2).join(".");
}

const keyOf = (f: LintFinding) => `${f.rule} ${subjectOf(f)}`;

export interface Ratchet<T extends LintFinding> {
  /** Errors the live snapshot does not have (same rule, same flag or segment): these block. */
  blocking: T[];
  /** Errors the live snapshot already has: reported, never blocking. */
  debt: T[];
}

/**
 * Splits the new document's lint errors into new ones and debt. "Worse" is counted per rule and
 * subject: an error is debt only while live has as many errors of that rule on that flag or segment,
 * so a warning that becomes an error, or a second unreachable rule on the same flag, is new. Nothing
 * live (a first publish): every error is new.
 */
export function ratchet<T extends LintFinding>(next: T[], live: LintFinding[]): Ratchet<T> {
  const known = new Map<string, number>();
  for (const f of live) if (f.severity === "error") known.set(keyOf(f), (known.get(keyOf(f)) ?? 0) + 1);
  const blocking: T[] = [];
  const debt: T[] = [];
  for (const f of next) {
    if (f.severity !== "error") continue;
    const left = known.get(keyOf(f)) ?? 0;
    if (left > 0) {
      known.set(keyOf(f), left - 1);
      debt.push(f);
    } else blocking.push(f);
  }
  return { blocking, debt };
}

/**
 * Lets the blocking findings of the `allowed` rules through. Only overrides that let something
 * through are recorded (with what they let through); `unused` names the allowed rules that had
 * nothing new to allow.
 */
export function applyOverrides<T extends LintFinding>(
  blocking: T[],
  allowed: readonly LintRule[],
  reason: string,
): { blocked: T[]; overridden: T[]; overrides: LintOverride[]; unused: LintRule[] } {
  const allow = new Set(allowed);
  const overridden = blocking.filter((f) => allow.has(f.rule));
  const overrides = [...allow]
    .map((rule) => ({
      rule,
      reason,
      findings: overridden.filter((f) => f.rule === rule).map(subjectOf),
    }))
    .filter((o) => o.findings.length > 0);
  return {
    blocked: blocking.filter((f) => !allow.has(f.rule)),
    overridden,
    overrides,
    unused: [...allow].filter((rule) => !overrides.some((o) => o.rule === rule)),
  };
}
