/**
 * Policy checks on a valid flags document, beyond what the worker needs to serve it: what each kind
 * of flag must carry (owner, expiry, cleanup issue, default off, runbook, a dashboard for a
 * percentage rollout: the table in kind-policies.ts), age, an optional flag budget per owner, unused
 * segments, rules that can never match, targets and flag keys that shadow each other. Pure, no I/O:
 * `now` and the options are passed in.
 */
import { offVariantOf, splitEntries } from "../flags/defaults";
import type { FlagDefinition, FlagsDocument, ProgressiveSplit, Serve, SplitWeights } from "../flags/types";
import { canonicalJson } from "./diff";
import { DEFAULT_STALE_AFTER_DAYS, KIND_POLICIES, KINDLESS_DASHBOARD, type Severity } from "./kind-policies";
import { isExpired } from "./refs/report";

export type { Severity };

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
  "release-needs-cleanup-issue",
  "release-default-off",
  "ops-needs-runbook",
  "rollout-needs-dashboard",
  "stale",
  "owner-over-budget",
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

/** Lint settings from `.edgeflags/config.json` (`lint`); every one optional. */
export interface LintOptions {
  /** Most flags one owner may have; more is an owner-over-budget error. Default: no budget. */
  maxFlagsPerOwner?: number;
  /** Days after `created` a release, experiment or migration flag is stale. Default 90. */
  staleAfterDays?: number;
}

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
  const policy = KIND_POLICIES[flag.kind];
  if (!flag.owner) {
    out.push({
      severity: policy.owner,
      rule: "missing-owner",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no owner: add \`owner: <team>\` so someone is responsible for it`,
    });
  }
  if (!policy.temporary) return;
  if (!flag.expires) {
    out.push({
      severity: "error",
      rule: "missing-expires",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no expires date: ${flag.kind} flags are temporary, add \`expires: YYYY-MM-DD\``,
    });
  } else if (isExpired(flag.expires, now)) {
    out.push({
      severity: "error",
      rule: "expired",
      path: [...at, "expires"],
      message: `${flag.kind} flag "${key}" expired on ${flag.expires}: remove it from the code and this file, or move the date if it must stay`,
    });
  }
}

/** Whether a serve splits traffic between two or more variants, now or at any step. */
function splitsTraffic(serve: Serve | ProgressiveSplit): boolean {
  if (typeof serve === "string") return false;
  const several = (w: SplitWeights) => splitEntries(w).filter((e) => e.weight > 0).length > 1;
  return several(serve.split) || ("steps" in serve && (serve.steps ?? []).some((s) => several(s.split)));
}

/** Where the flag rolls out by percentage: `fallthrough` or `rules.<i>`, the first one found. */
function rolloutAt(flag: FlagDefinition): (string | number)[] | undefined {
  if (splitsTraffic(flag.fallthrough)) return ["fallthrough"];
  const i = (flag.rules ?? []).findIndex((rule) => splitsTraffic(rule.serve));
  return i < 0 ? undefined : ["rules", i, "serve"];
}

/** The per-kind fields beyond owner and expiry: cleanup issue, default off, runbook, dashboard, age. */
function lintKindFields(
  key: string,
  flag: FlagDefinition,
  now: number,
  staleAfterDays: number,
  out: LintFinding[],
): void {
  const at = ["flags", key];
  const policy = flag.kind ? KIND_POLICIES[flag.kind] : undefined;
  if (policy?.cleanupIssue && !flag.cleanupIssue) {
    out.push({
      severity: policy.cleanupIssue,
      rule: "release-needs-cleanup-issue",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no cleanupIssue: add \`cleanupIssue: <issue URL or PROJ-123>\` for the work that removes it`,
    });
  }
  const off = offVariantOf(flag);
  if (policy?.defaultOff && typeof flag.fallthrough === "string" && flag.fallthrough !== off) {
    out.push({
      severity: policy.defaultOff,
      rule: "release-default-off",
      path: [...at, "fallthrough"],
      message: `${flag.kind} flag "${key}" serves "${flag.fallthrough}" to everyone by default: a release flag's fallthrough is its off variant "${off}" (roll out with rules, targets or a split); once everyone has it, remove the flag`,
    });
  }
  if (policy?.runbook && !flag.runbook) {
    out.push({
      severity: policy.runbook,
      rule: "ops-needs-runbook",
      path: at,
      onKey: true,
      message: `${flag.kind} flag "${key}" has no runbook: add \`runbook: https://...\` saying when and how to flip it`,
    });
  }
  const rollout = flag.dashboard ? undefined : rolloutAt(flag);
  if (rollout) {
    out.push({
      severity: policy?.dashboard ?? KINDLESS_DASHBOARD,
      rule: "rollout-needs-dashboard",
      path: [...at, ...rollout],
      message: `flag "${key}" rolls out by percentage but has no dashboard: add \`dashboard: https://...\` where its effect is watched`,
    });
  }
  const days = staleAge(flag, now, staleAfterDays);
  if (days !== undefined) {
    out.push({
      severity: "warning",
      rule: "stale",
      path: [...at, "created"],
      message: `${flag.kind} flag "${key}" was created ${days} days ago (${flag.created}), more than ${staleAfterDays}: finish it and remove it`,
    });
  }
}

/** Whole days from `created` (YYYY-MM-DD, midnight UTC) to `now`; undefined without a usable date. */
export function ageInDays(created: string | undefined, now: number): number | undefined {
  const ms = created ? Date.parse(`${created}T00:00:00Z`) : Number.NaN;
  return Number.isNaN(ms) ? undefined : Math.floor((now - ms) / DAY_MS);
}

/**
 * The flag's age in days when it is past its kind's lifetime (rule stale): its kind ages out (not
 * permission or ops) and `created` is more than `staleAfterDays` ago; else undefined.
 */
export function staleAge(flag: FlagDefinition, now: number, staleAfterDays: number): number | undefined {
  if (!flag.kind || !KIND_POLICIES[flag.kind].agesOut) return undefined;
  const days = ageInDays(flag.created, now);
  return days !== undefined && days > staleAfterDays ? days : undefined;
}

/** Owner -> how many flags name them, for the flag budget. */
function flagsPerOwner(doc: FlagsDocument): Map<string, number> {
  const counts = new Map<string, number>();
  for (const flag of Object.values(doc.flags)) {
    if (flag.owner) counts.set(flag.owner, (counts.get(flag.owner) ?? 0) + 1);
  }
  return counts;
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

/**
 * Every finding, in document order (flags, then segments). `now` is epoch milliseconds. Over an owner's
 * budget, each of their flags past the budget (in file order) is a finding, so one more flag is one
 * more error for the ratchet to see.
 */
export function lintDocument(doc: FlagsDocument, now: number, options: LintOptions = {}): LintFinding[] {
  const out: LintFinding[] = [];
  const used = new Set<string>();
  const byNormalised = new Map<string, string>();
  const staleAfterDays = options.staleAfterDays ?? DEFAULT_STALE_AFTER_DAYS;
  const budget = options.maxFlagsPerOwner;
  const owned = budget === undefined ? undefined : flagsPerOwner(doc);
  const seen = new Map<string, number>();
  for (const [key, flag] of Object.entries(doc.flags)) {
    lintOwnership(key, flag, now, out);
    lintKindFields(key, flag, now, staleAfterDays, out);
    if (budget !== undefined && owned && flag.owner) {
      const nth = (seen.get(flag.owner) ?? 0) + 1;
      seen.set(flag.owner, nth);
      if (nth > budget) {
        out.push({
          severity: "error",
          rule: "owner-over-budget",
          path: ["flags", key, "owner"],
          message: `owner "${flag.owner}" has ${owned.get(flag.owner)} flags, over the budget of ${budget} (lint.maxFlagsPerOwner): "${key}" is flag ${nth}; remove finished ones first`,
        });
      }
    }
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
