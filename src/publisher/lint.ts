/**
 * Policy checks on a valid flags document, beyond what the worker needs to serve it: expiry and
 * ownership by flag kind, unused segments, rules that can never match, targets and flag keys that
 * shadow each other. Pure, no I/O: `now` is passed in.
 */
import type { FlagDefinition, FlagsDocument } from "../flags/types";
import { canonicalJson } from "./diff";

export type Severity = "error" | "warning";

/** Every rule name, stable: --json consumers, `publish --allow-lint RULE` and the docs use them. */
export const LINT_RULES = [
  "expired",
  "missing-owner",
  "missing-expires",
  "missing-kind",
  "unused-segment",
  "unreachable-rule",
  "duplicate-target",
  "shadowed-flag",
] as const;
export type LintRule = (typeof LINT_RULES)[number];

export interface LintFinding {
  severity: Severity;
  /** Stable rule name, for --json consumers and for people searching the docs. */
  rule: LintRule;
  path: (string | number)[];
  onKey?: boolean;
  message: string;
}

const TEMPORARY = new Set(["release", "experiment"]);
const DAY_MS = 86_400_000;

/** Keys that people (and code that normalises them) would read as the same flag. */
function normalisedKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, "");
}

function lintOwnership(key: string, flag: FlagDefinition, now: number, out: LintFinding[]): void {
  const at = ["flags", key];
  if (!flag.kind) {
    out.push({
      severity: "warning",
      rule: "missing-kind",
      path: at,
      onKey: true,
      message: `flag "${key}" has no kind (release, experiment, ops, permission, migration): lint cannot tell whether it needs an owner and an expiry date`,
    });
    return;
  }
  const temporary = TEMPORARY.has(flag.kind);
  if (!flag.owner) {
    out.push({
      severity: temporary ? "error" : "warning",
      rule: "missing-owner",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no owner: add \`owner: <team>\` so someone is responsible for it`,
    });
  }
  if (!temporary) return;
  if (!flag.expires) {
    out.push({
      severity: "error",
      rule: "missing-expires",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no expires date: ${flag.kind} flags are temporary, add \`expires: YYYY-MM-DD\``,
    });
  } else if (Date.parse(`${flag.expires}T00:00:00Z`) + DAY_MS <= now) {
    out.push({
      severity: "error",
      rule: "expired",
      path: [...at, "expires"],
      message: `${flag.kind} flag "${key}" expired on ${flag.expires}: remove it from the code and this file, or move the date if it must stay`,
    });
  }
}

function lintRules(key: string, flag: FlagDefinition, out: LintFinding[]): void {
  const rules = flag.rules ?? [];
  const seen = new Map<string, number>();
  let catchAll: number | undefined;
  rules.forEach((rule, i) => {
    const at = ["flags", key, "rules", i];
    const name = rule.id ? `rule "${rule.id}"` : `rule ${i + 1}`;
    if (catchAll !== undefined) {
      out.push({
        severity: "warning",
        rule: "unreachable-rule",
        path: at,
        message: `${name} of "${key}" can never match: rule ${catchAll + 1} before it has no conditions and matches everyone`,
      });
      return;
    }
    const conditions = canonicalJson([...rule.when].map(canonicalJson).sort());
    const earlier = seen.get(conditions);
    if (earlier !== undefined) {
      out.push({
        severity: "warning",
        rule: "unreachable-rule",
        path: at,
        message: `${name} of "${key}" can never match: rule ${earlier + 1} has the same conditions and comes first`,
      });
    } else seen.set(conditions, i);
    if (rule.when.length === 0) catchAll = i;
  });
}

function lintTargets(key: string, flag: FlagDefinition, out: LintFinding[]): void {
  const owner = new Map<string, string>();
  for (const [variant, keys] of Object.entries(flag.targets ?? {})) {
    keys.forEach((target, i) => {
      const first = owner.get(target);
      if (first !== undefined) {
        out.push({
          severity: "warning",
          rule: "duplicate-target",
          path: ["flags", key, "targets", variant, i],
          message:
            first === variant
              ? `target "${target}" is listed twice for variant "${variant}" of "${key}"`
              : `target "${target}" of "${key}" is listed for both "${first}" and "${variant}": only one of them can be served`,
        });
      } else owner.set(target, variant);
    });
  }
}

/** Every finding, in document order (flags, then segments). `now` is epoch milliseconds. */
export function lintDocument(doc: FlagsDocument, now: number): LintFinding[] {
  const out: LintFinding[] = [];
  const used = new Set<string>();
  const byNormalised = new Map<string, string>();
  for (const [key, flag] of Object.entries(doc.flags)) {
    lintOwnership(key, flag, now, out);
    lintRules(key, flag, out);
    lintTargets(key, flag, out);
    for (const rule of flag.rules ?? []) for (const c of rule.when) if ("segment" in c) used.add(c.segment);
    const norm = normalisedKey(key);
    const other = byNormalised.get(norm);
    if (other !== undefined) {
      out.push({
        severity: "warning",
        rule: "shadowed-flag",
        path: ["flags", key],
        onKey: true,
        message: `flag "${key}" differs from "${other}" only in case or separators: code that looks one up can get the other`,
      });
    } else byNormalised.set(norm, key);
  }
  for (const name of Object.keys(doc.segments ?? {})) {
    if (!used.has(name)) {
      out.push({
        severity: "warning",
        rule: "unused-segment",
        path: ["segments", name],
        onKey: true,
        message: `segment "${name}" is not used by any flag: remove it or reference it with \`segment: ${name}\``,
      });
    }
  }
  return out;
}
