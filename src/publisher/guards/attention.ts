/**
 * Risky changes a publish calls out (it does not block them): a permission flag turning on or
 * changing who has it, a flag that gates paths changing, a gate added, removed or changed, a
 * rollout widened by more than a step, and a running experiment whose salt, hashed attribute or
 * variant order changes (which re-buckets its users). Pure, no I/O: `now` picks the step of a
 * progressive split.
 */
import { isEnabled, offVariantOf, ruleIdOf, splitEntries } from "../../flags/defaults";
import {
  type FlagDefinition,
  type FlagsDocument,
  type GateDefinition,
  METADATA_FIELDS,
  type ProgressiveSplit,
} from "../../flags/types";
import { canonicalJson } from "../diff";

export interface Attention {
  kind: "permission" | "gate" | "rollout" | "experiment";
  flag: string;
  message: string;
}

/** Top-level fields whose values differ (key order aside). */
function changedFields(before: object, after: object): string[] {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .sort()
    .filter((f) => canonicalJson(b[f]) !== canonicalJson(a[f]));
}

function servingChanges(before: FlagDefinition, after: FlagDefinition): string[] {
  return changedFields(before, after).filter((f) => !METADATA_FIELDS.has(f));
}

function permission(
  key: string,
  before: FlagDefinition | undefined,
  after: FlagDefinition,
): string | undefined {
  if (after.kind !== "permission" || !isEnabled(after)) return undefined;
  if (!before) return `new permission flag "${key}" is enabled: check whom it grants`;
  if (!isEnabled(before)) return `permission flag "${key}" turns on (enabled: false -> true)`;
  const fields = servingChanges(before, after);
  return fields.length > 0 ? `permission flag "${key}" changes who has it (${fields.join(", ")})` : undefined;
}

/** Percent of traffic per variant that a serve gives at `now` (a progressive split's current step). */
function shares(serve: string | ProgressiveSplit | undefined, now: number): Map<string, number> | undefined {
  if (serve === undefined) return undefined;
  if (typeof serve === "string") return new Map([[serve, 100]]);
  let weights = serve.split;
  const steps = [...(serve.steps ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const step of steps) if (Date.parse(step.at) <= now) weights = step.split;
  const entries = splitEntries(weights);
  const total = entries.reduce((sum, e) => sum + e.weight, 0);
  return new Map(entries.map((e) => [e.variant, total > 0 ? (e.weight / total) * 100 : 0]));
}

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;

/** Where a flag serves by share: the fallthrough and each rule, by rule id (`rule-<index>` without). */
function serves(flag: FlagDefinition): Map<string, string | ProgressiveSplit> {
  const out = new Map<string, string | ProgressiveSplit>([["the fallthrough", flag.fallthrough]]);
  (flag.rules ?? []).forEach((rule, i) => {
    out.set(`rule "${ruleIdOf(rule, i)}"`, rule.serve);
  });
  return out;
}

function widened(
  key: string,
  before: FlagDefinition,
  after: FlagDefinition,
  now: number,
  maxStep: number,
): string[] {
  const off = offVariantOf(after);
  const old = serves(before);
  const out: string[] = [];
  for (const [where, serve] of serves(after)) {
    const a = shares(serve, now);
    const b = shares(old.get(where), now);
    if (!a || !b) continue;
    for (const [variant, share] of a) {
      const step = share - (b.get(variant) ?? 0);
      if (variant === off || step <= maxStep) continue;
      out.push(
        `flag "${key}": ${where} serves "${variant}" to ${pct(share)} (was ${pct(b.get(variant) ?? 0)}), +${pct(step).slice(0, -1)} points, more than the ${maxStep}-point step (--max-step)`,
      );
    }
  }
  return out;
}

/** The weights of a split in force at `now`: the last step that has started, else the base. */
function weightsAt(serve: ProgressiveSplit, now: number) {
  let weights = serve.split;
  let latest = Number.NEGATIVE_INFINITY;
  for (const step of serve.steps ?? []) {
    const at = Date.parse(step.at);
    if (at <= now && at >= latest) {
      latest = at;
      weights = step.split;
    }
  }
  return weights;
}

/** Variants with traffic, in bucketing order. */
const order = (serve: ProgressiveSplit, now: number) =>
  splitEntries(weightsAt(serve, now))
    .filter((e) => e.weight > 0)
    .map((e) => e.variant);

/**
 * What re-buckets a running experiment's users: at each serve that splits before and after, a new
 * salt or hashed attribute (everyone moves), or variants with traffic in another order (the ranges
 * move). Changed weights alone move only the users at the edges, which `widened` reports.
 */
function rebucketed(key: string, before: FlagDefinition, after: FlagDefinition, now: number): string[] {
  const old = serves(before);
  const out: string[] = [];
  for (const [where, serve] of serves(after)) {
    const was = old.get(where);
    if (typeof serve === "string" || was === undefined || typeof was === "string") continue;
    const changes: string[] = [];
    const saltWas = was.salt ?? key;
    const salt = serve.salt ?? key;
    if (salt !== saltWas) changes.push(`salt "${saltWas}" -> "${salt}"`);
    const byWas = was.by ?? "key";
    const by = serve.by ?? "key";
    if (by !== byWas) changes.push(`hashes ${byWas} -> ${by}`);
    const a = order(serve, now);
    const b = order(was, now);
    const common = a.filter((v) => b.includes(v));
    const commonWas = b.filter((v) => a.includes(v));
    if (common.join("\u0000") !== commonWas.join("\u0000")) {
      changes.push(`variant order ${commonWas.join(", ")} -> ${common.join(", ")}`);
    }
    if (changes.length > 0) {
      out.push(
        `running experiment "${key}": ${where} changes its split (${changes.join("; ")}): this re-buckets users, mixing the groups the experiment compares; keep the salt and order, or restart the experiment under a new key`,
      );
    }
  }
  return out;
}

const gateKey = (g: GateDefinition) => g.id ?? `${g.host ?? ""}${g.pattern}`;
const gateLabel = (g: GateDefinition) => `${g.host ?? ""}${g.pattern}`;

function gates(before: FlagsDocument | undefined, after: FlagsDocument): Attention[] {
  const out: Attention[] = [];
  const old = new Map((before?.gates ?? []).map((g) => [gateKey(g), g]));
  const now = new Map(after.gates?.map((g) => [gateKey(g), g]));
  for (const [k, g] of now) {
    const was = old.get(k);
    if (!was)
      out.push({ kind: "gate", flag: g.flag, message: `new gate on ${gateLabel(g)} (flag "${g.flag}")` });
    else if (canonicalJson(was) !== canonicalJson(g)) {
      const fields = changedFields(was, g).join(", ");
      out.push({ kind: "gate", flag: g.flag, message: `gate on ${gateLabel(g)} changes (${fields})` });
    }
  }
  for (const [k, g] of old) {
    if (!now.has(k)) {
      out.push({
        kind: "gate",
        flag: g.flag,
        message: `gate on ${gateLabel(g)} removed: it is no longer gated`,
      });
    }
  }
  // A flag a gate reads decides who reaches those paths.
  const patterns = new Map<string, string[]>();
  for (const g of after.gates ?? []) patterns.set(g.flag, [...(patterns.get(g.flag) ?? []), gateLabel(g)]);
  for (const [flag, paths] of patterns) {
    const b = before?.flags[flag];
    const a = after.flags[flag];
    const fields = a && b ? servingChanges(b, a) : [];
    if (fields.length > 0) {
      out.push({
        kind: "gate",
        flag,
        message: `flag "${flag}" gates ${paths.join(", ")} and changes (${fields.join(", ")})`,
      });
    }
  }
  return out;
}

/**
 * What to call out when publishing `after` over `before` (nothing live: undefined). `maxStep` is in
 * percentage points of traffic: a variant other than the off variant gaining more than that at one
 * serve (the fallthrough or a rule, a plain variant counting as 100%) is a widened rollout.
 */
export function attention(
  before: FlagsDocument | undefined,
  after: FlagsDocument,
  options: { now: number; maxStep: number },
): Attention[] {
  const out: Attention[] = [];
  for (const [key, flag] of Object.entries(after.flags)) {
    const was = before?.flags[key];
    const p = permission(key, was, flag);
    if (p) out.push({ kind: "permission", flag: key, message: p });
    if (was && isEnabled(flag)) {
      for (const message of widened(key, was, flag, options.now, options.maxStep)) {
        out.push({ kind: "rollout", flag: key, message });
      }
    }
    if (was && flag.kind === "experiment" && was.kind === "experiment" && isEnabled(was)) {
      for (const message of rebucketed(key, was, flag, options.now)) {
        out.push({ kind: "experiment", flag: key, message });
      }
    }
  }
  return [...out, ...gates(before, after)];
}
