/**
 * Semantic checks of one flag: variant types and references, splits, targets, rules, geo,
 * schedule and dates. Pure, no I/O. Prerequisite references and cycles are checked document-wide.
 */
import { RULE_FALLTHROUGH, RULE_GEO, RULE_SCHEDULE, RULE_TARGET } from "../eval/reasons";
import { arr, at, type Loc, type Obj, obj, type Report, str } from "./access";
import { attributeProblem, checkCondition } from "./conditions";
import {
  DEFAULT_OFF_VARIANT,
  DURATION_PROBLEM,
  durationMs,
  EVENT_NAME,
  GUARD_BAKE_MS,
  GUARD_WINDOW_MS,
  ruleIdOf,
  valueTypeOf,
  variantsOf,
} from "./defaults";
import { dateProblem, instantMillis, instantProblem, minutesOf, timeZoneProblem } from "./formats";
import { describe, listOf } from "./messages";
import { END_TIME, FLAG_TYPES, START_TIME } from "./schema";
import type { FlagDefinition, FlagType, JsonValue, Rule } from "./types";

/** Largest total split weight: bucket * total must stay exact in a double. */
export const MAX_TOTAL_WEIGHT = 1_000_000;
/** Ids the engine itself reports as `ruleId`; a rule may not take them. */
const RESERVED_RULE_IDS = [RULE_TARGET, RULE_GEO, RULE_SCHEDULE, RULE_FALLTHROUGH];
const ARTICLE: Record<FlagType, string> = {
  boolean: "a boolean",
  string: "a string",
  number: "a number",
  json: "JSON",
};

/** The variant names of a flag without `variants`: shared, since most flags are boolean. */
const BOOLEAN_NAMES: readonly string[] = Object.freeze(Object.keys(variantsOf({} as FlagDefinition)));

/** The variant names of a flag as written, or undefined when `variants` is malformed. */
export function variantNames(flag: Obj): readonly string[] | undefined {
  if (flag.variants === undefined) return BOOLEAN_NAMES;
  const o = obj(flag.variants);
  const names = o && Object.keys(o);
  // Empty variants are reported once by the schema; every reference would only repeat it.
  return names?.length ? names : undefined;
}

/** Whether any rule names its own id; without one, the ids are rule-0, rule-1... and cannot clash. */
function hasExplicitRuleId(rules: readonly unknown[]): boolean {
  for (const rule of rules) if (typeof obj(rule)?.id === "string") return true;
  return false;
}

class FlagChecker {
  private readonly loc: Loc;
  constructor(
    private readonly key: string,
    private readonly flag: Obj,
    private readonly names: readonly string[] | undefined,
    private readonly segments: Obj,
    private readonly report: Report,
    flagsLoc: Loc,
  ) {
    this.loc = at(flagsLoc, key);
  }

  run(): void {
    const { flag, loc } = this;
    this.variantTypes();
    this.offVariant();
    this.targets();
    const rules = arr(flag.rules);
    if (rules.length > 0) {
      const rulesLoc = at(loc, "rules");
      const ruleIds = hasExplicitRuleId(rules) ? new Map<string, number>() : undefined;
      for (let i = 0; i < rules.length; i++) this.rule(rules[i], i, rulesLoc, ruleIds);
    }
    this.serve(flag.fallthrough, loc, "fallthrough", true);
    this.geo();
    this.schedule();
    this.dates();
    this.guard();
  }

  /**
   * A guard compares with a variant of the flag, by exactly one rule (relative or threshold), with
   * the fields of its metric only, and a bake time only where there are progressive steps to bake.
   */
  private guard(): void {
    const guard = obj(this.flag.guard);
    if (!guard) return;
    const loc = at(this.loc, "guard");
    const metric = guard.metric;
    const hasRelative = guard.relative !== undefined;
    const hasThreshold = guard.threshold !== undefined;
    if (hasRelative === hasThreshold) {
      this.report(
        loc,
        hasRelative
          ? "guard has both relative and threshold: choose one"
          : "guard needs a comparison: relative (e.g. { ratio: 2, margin: 0.01 }) or threshold (e.g. 0.05)",
      );
    }
    const event = str(guard.event);
    if (event !== undefined && metric !== "error-rate") {
      this.report(at(loc, "event"), "guard event applies to metric error-rate only");
    } else if (event !== undefined && !EVENT_NAME.test(event)) {
      this.report(
        at(loc, "event"),
        `invalid event name ${describe(event)}: 1-64 letters, digits, "_", ".", ":" or "-", starting with a letter or digit`,
      );
    }
    if (guard.percentile !== undefined && metric !== "origin-latency") {
      this.report(at(loc, "percentile"), "guard percentile applies to metric origin-latency only");
    }
    const rate = metric === "error-rate" || metric === "origin-5xx";
    if (rate && typeof guard.threshold === "number" && guard.threshold > 1) {
      this.report(
        at(loc, "threshold"),
        `threshold ${guard.threshold} is a rate: a fraction from 0 to 1 (0.05 is 5 %)`,
      );
    }
    if (guard.control !== undefined) this.variantRef(guard.control, loc, "control", "guard control");
    const control = str(guard.control) ?? str(this.flag.offVariant) ?? DEFAULT_OFF_VARIANT;
    if (this.names?.every((n) => n === control)) {
      this.report(loc, `flag "${this.key}" has no variant to guard besides its control "${control}"`);
    }
    for (const [field, bounds] of [
      ["window", GUARD_WINDOW_MS],
      ["bake", GUARD_BAKE_MS],
    ] as const) {
      const text = str(guard[field]);
      if (text === undefined) continue;
      const ms = durationMs(text);
      if (ms === undefined) continue; // the schema reports the format
      if (ms < bounds.min || ms > bounds.max) {
        this.report(at(loc, field), `${field} ${describe(text)}: ${DURATION_PROBLEM[field]}`);
      }
    }
    if (guard.bake !== undefined && arr(obj(this.flag.fallthrough)?.steps).length === 0) {
      this.report(
        at(loc, "bake"),
        `bake applies to a progressive fallthrough (steps), and flag "${this.key}" has none`,
      );
    }
  }

  /** `expires` and `created` are real dates, and a flag does not expire before it was created. */
  private dates(): void {
    const { flag, loc } = this;
    const valid: Record<string, string> = {};
    for (const field of ["created", "expires"] as const) {
      const date = str(flag[field]);
      if (date === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(date)) continue;
      const problem = dateProblem(date);
      if (problem) this.report(at(loc, field), `${field}: ${problem}`);
      else valid[field] = date;
    }
    const { created, expires } = valid;
    // YYYY-MM-DD strings compare as dates.
    if (created !== undefined && expires !== undefined && expires < created) {
      this.report(
        at(loc, "expires"),
        `expires (${expires}) is before created (${created}): flag "${this.key}" would be expired from the start`,
      );
    }
  }

  private missingVariant(name: string, what: string): string {
    return `${what} ${describe(name)} is not a variant of flag "${this.key}"; its variants are: ${listOf(this.names ?? [])}`;
  }

  /**
   * Reports `name` (at child `key` of `parent`) when it is not a variant; silent while the variants
   * themselves are malformed.
   */
  private variantRef(value: unknown, parent: Loc, key: string | number, what: string, onKey = false): void {
    const name = str(value);
    if (name !== undefined && this.names !== undefined && !this.names.includes(name)) {
      this.report(at(parent, key), this.missingVariant(name, what), onKey);
    }
  }

  private variantTypes(): void {
    const { flag, key, loc } = this;
    const declared = (FLAG_TYPES as readonly unknown[]).includes(flag.type)
      ? (flag.type as FlagType)
      : undefined;
    if (flag.variants === undefined) {
      if (declared !== undefined && declared !== "boolean") {
        this.report(
          at(loc, "type"),
          `flag "${key}" is declared ${declared} but has no variants (without variants a flag is boolean, "on" and "off"); add variants`,
        );
      }
      return;
    }
    const variants = obj(flag.variants);
    if (variants === undefined) return;
    const names = Object.keys(variants);
    const first = names[0];
    if (first === undefined) return;
    const expected = declared ?? valueTypeOf(variants[first] as JsonValue);
    const why = declared ? "" : ` (like its first variant "${first}")`;
    for (const name of names) {
      const t = valueTypeOf(variants[name] as JsonValue);
      if (t !== expected) {
        this.report(
          at(at(loc, "variants"), name),
          `variant "${name}" is ${ARTICLE[t]} but flag "${key}" is ${expected}${why}`,
        );
      }
    }
  }

  private offVariant(): void {
    const { flag, names, loc } = this;
    if (flag.offVariant !== undefined) {
      this.variantRef(flag.offVariant, loc, "offVariant", "offVariant");
    } else if (names !== undefined && !names.includes(DEFAULT_OFF_VARIANT)) {
      this.report(
        at(loc, "variants"),
        `flag "${this.key}" has no variant named "off": add \`offVariant\` naming the variant to serve when the flag is off (variants: ${listOf(names)})`,
      );
    }
  }

  private targets(): void {
    const targets = obj(this.flag.targets);
    if (targets === undefined) return;
    const targetsLoc = at(this.loc, "targets");
    const seen = new Map<string, string>();
    for (const variant of Object.keys(targets)) {
      this.variantRef(variant, targetsLoc, variant, "targets name", true);
      const keys = arr(targets[variant]);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (typeof key !== "string") continue;
        const earlier = seen.get(key);
        if (earlier !== undefined && earlier !== variant) {
          this.report(
            at(at(targetsLoc, variant), i),
            `targeting key ${describe(key)} is listed for both variant "${earlier}" and "${variant}"`,
          );
        } else if (earlier === undefined) {
          seen.set(key, variant);
        }
      }
    }
  }

  private rule(raw: unknown, index: number, rulesLoc: Loc, ruleIds: Map<string, number> | undefined): void {
    const rule = obj(raw);
    if (!rule) return;
    const ruleLoc = at(rulesLoc, index);
    if (ruleIds !== undefined && (rule.id === undefined || typeof rule.id === "string")) {
      const id = ruleIdOf(rule as unknown as Rule, index);
      const earlier = ruleIds.get(id);
      if (earlier !== undefined) {
        this.report(
          rule.id === undefined ? ruleLoc : at(ruleLoc, "id"),
          `rule id "${id}" is already used by rule ${earlier} of flag "${this.key}"; rule ids must be unique`,
        );
      } else if (RESERVED_RULE_IDS.includes(id)) {
        this.report(
          rule.id === undefined ? ruleLoc : at(ruleLoc, "id"),
          `rule id "${id}" is reserved (it names a step of evaluation); choose another`,
        );
      }
      ruleIds.set(id, index);
    }
    const when = arr(rule.when);
    if (when.length > 0) {
      const whenLoc = at(ruleLoc, "when");
      for (let i = 0; i < when.length; i++) checkCondition(when[i], whenLoc, i, this.report, this.segments);
    }
    this.serve(rule.serve, ruleLoc, "serve", false);
  }

  /** Checks the serve (or fallthrough) at child `key` of `parent`. */
  private serve(value: unknown, parent: Loc, key: string, progressive: boolean): void {
    if (typeof value === "string") {
      this.variantRef(value, parent, key, key);
      return;
    }
    const split = obj(value);
    if (!split) return;
    const loc = at(parent, key);
    this.weights(split.split, loc, "split");
    const by = attributeProblem(split.by);
    if (by) this.report(at(loc, "by"), by);
    if (!progressive) return;
    const steps = arr(split.steps);
    if (steps.length === 0) return;
    const stepsLoc = at(loc, "steps");
    let previous: { at: string; ms: number } | undefined;
    for (let i = 0; i < steps.length; i++) {
      const step = obj(steps[i]);
      if (!step) continue;
      const stepAt = str(step.at);
      if (stepAt !== undefined) {
        const problem = instantProblem(stepAt);
        if (problem) this.report(at(at(stepsLoc, i), "at"), `step time: ${problem}`);
        else {
          const ms = instantMillis(stepAt);
          if (previous && ms <= previous.ms) {
            this.report(
              at(at(stepsLoc, i), "at"),
              `step times must increase: "${stepAt}" is not after the previous step "${previous.at}"`,
            );
          }
          previous = { at: stepAt, ms };
        }
      }
      this.weights(step.split, at(stepsLoc, i), "split");
    }
  }

  /** Checks the split weights (a map, or a list of entries) at child `key` of `parent`. */
  private weights(raw: unknown, parent: Loc, key: string): void {
    const loc = at(parent, key);
    let total = 0;
    let allValid = true;
    const add = (weight: unknown) => {
      if (typeof weight === "number" && Number.isInteger(weight) && weight >= 0) total += weight;
      else allValid = false;
    };
    if (Array.isArray(raw)) {
      const seen = new Set<string>();
      for (let i = 0; i < raw.length; i++) {
        const entry = obj(raw[i]);
        if (!entry) {
          allValid = false;
          continue;
        }
        const variant = str(entry.variant);
        const entryLoc = at(loc, i);
        if (variant !== undefined && seen.has(variant)) {
          this.report(at(entryLoc, "variant"), `split lists variant ${describe(variant)} more than once`);
        } else if (variant !== undefined) {
          seen.add(variant);
          this.variantRef(variant, entryLoc, "variant", "split name");
        }
        add(entry.weight);
      }
    } else {
      const weights = obj(raw);
      if (!weights) return;
      for (const variant of Object.keys(weights)) {
        this.variantRef(variant, loc, variant, "split name", true);
        add(weights[variant]);
      }
    }
    if (!allValid) return;
    if (total === 0)
      this.report(loc, "split weights sum to zero: give at least one variant a weight above 0");
    else if (total > MAX_TOTAL_WEIGHT) {
      this.report(
        loc,
        `split weights add up to ${total}; the most allowed is ${MAX_TOTAL_WEIGHT} (1,000,000)`,
      );
    }
  }

  private geo(): void {
    const geo = obj(this.flag.geo);
    if (!geo) return;
    const loc = at(this.loc, "geo");
    this.variantRef(geo.serve, loc, "serve", "geo serve");
    if (geo.allow === undefined && geo.block === undefined) {
      this.report(loc, `geo needs an "allow" or a "block" list`);
    }
    for (const side of ["allow", "block"] as const) {
      const lists = obj(geo[side]);
      if (lists && !["countries", "continents", "regions"].some((k) => arr(lists[k]).length > 0)) {
        this.report(at(loc, side), `geo ${side} lists no countries, continents or regions`);
      }
    }
  }

  private schedule(): void {
    const schedule = obj(this.flag.schedule);
    if (!schedule) return;
    const loc = at(this.loc, "schedule");
    const instants: Record<string, number | undefined> = {};
    for (const field of ["from", "until"] as const) {
      const text = str(schedule[field]);
      if (text === undefined) continue;
      const problem = instantProblem(text);
      if (problem) this.report(at(loc, field), `${field}: ${problem}`);
      else instants[field] = instantMillis(text);
    }
    const { from, until } = instants;
    if (from !== undefined && until !== undefined && from >= until) {
      this.report(at(loc, "until"), `until (${schedule.until}) must be after from (${schedule.from})`);
    }
    const zone = str(schedule.timezone);
    const zoneProblem = zone === undefined ? undefined : timeZoneProblem(zone);
    if (zoneProblem) this.report(at(loc, "timezone"), zoneProblem);
    const windows = arr(schedule.windows);
    for (let i = 0; i < windows.length; i++) {
      const w = obj(windows[i]);
      const start = str(w?.start);
      const end = str(w?.end);
      // start > end is an overnight window (22:00-02:00), which the engine counts for the day it
      // starts on; only an empty window is a mistake.
      if (
        start &&
        end &&
        START_TIME.test(start) &&
        END_TIME.test(end) &&
        minutesOf(start) === minutesOf(end)
      ) {
        this.report(
          at(at(at(loc, "windows"), i), "end"),
          `window end "${end}" equals its start "${start}": the window is empty`,
        );
      }
    }
  }
}

/** Runs every per-flag check on flag `key` of the document (the `flags` map is at `flagsLoc`). */
export function checkFlag(key: string, raw: unknown, segments: Obj, flagsLoc: Loc, report: Report): void {
  const flag = obj(raw);
  if (!flag) return;
  new FlagChecker(key, flag, variantNames(flag), segments, report, flagsLoc).run();
}
