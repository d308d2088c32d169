/**
 * Semantic checks of one flag: variant types and references, splits, targets, rules, geo,
 * schedule and dates. Pure, no I/O. Prerequisite references and cycles are checked document-wide.
 */
import { arr, entries, type Obj, obj, type Path, type Report, str } from "./access";
import { checkAttribute, checkCondition } from "./conditions";
import { DEFAULT_OFF_VARIANT, ruleIdOf, valueTypeOf, variantsOf } from "./defaults";
import { dateProblem, instantMillis, instantProblem, minutesOf, timeZoneProblem } from "./formats";
import { describe, listOf } from "./messages";
import { FLAG_TYPES } from "./schema";
import type { FlagDefinition, FlagType, JsonValue, Rule } from "./types";

/** Largest total split weight: bucket * total must stay exact in a double. */
export const MAX_TOTAL_WEIGHT = 1_000_000;
/** Ids the engine itself reports as `ruleId`; a rule may not take them. */
const RESERVED_RULE_IDS = ["target", "geo", "schedule", "fallthrough"];
const ARTICLE: Record<FlagType, string> = {
  boolean: "a boolean",
  string: "a string",
  number: "a number",
  json: "JSON",
};
const START = /^([01]\d|2[0-3]):[0-5]\d$/;
const END = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** The variant names of a flag as written, or undefined when `variants` is malformed. */
export function variantNames(flag: Obj): string[] | undefined {
  if (flag.variants === undefined) return Object.keys(variantsOf(flag as unknown as FlagDefinition));
  const o = obj(flag.variants);
  const names = o && Object.keys(o);
  // Empty variants are reported once by the schema; every reference would only repeat it.
  return names?.length ? names : undefined;
}

class FlagChecker {
  private readonly path: Path;
  constructor(
    private readonly key: string,
    private readonly flag: Obj,
    private readonly names: string[] | undefined,
    private readonly segments: Obj,
    private readonly report: Report,
  ) {
    this.path = ["flags", key];
  }

  run(): void {
    const { flag, path } = this;
    this.variantTypes();
    this.offVariant();
    this.targets();
    arr(flag.rules).forEach((rule, i) => {
      this.rule(rule, i);
    });
    this.serve(flag.fallthrough, [...path, "fallthrough"], true);
    this.geo();
    this.schedule();
    const expires = str(flag.expires);
    const problem =
      expires !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(expires) ? dateProblem(expires) : undefined;
    if (problem) this.report([...path, "expires"], `expires: ${problem}`);
  }

  private missingVariant(name: string, what: string): string {
    return `${what} ${describe(name)} is not a variant of flag "${this.key}"; its variants are: ${listOf(this.names ?? [])}`;
  }

  /** Reports `name` when it is not a variant; silent while the variants themselves are malformed. */
  private variantRef(value: unknown, path: Path, what: string, onKey = false): void {
    const name = str(value);
    if (name !== undefined && this.names !== undefined && !this.names.includes(name)) {
      this.report(path, this.missingVariant(name, what), onKey);
    }
  }

  private variantTypes(): void {
    const { flag, key, path } = this;
    const declared = (FLAG_TYPES as readonly unknown[]).includes(flag.type)
      ? (flag.type as FlagType)
      : undefined;
    if (flag.variants === undefined) {
      if (declared !== undefined && declared !== "boolean") {
        this.report(
          [...path, "type"],
          `flag "${key}" is declared ${declared} but has no variants (without variants a flag is boolean, "on" and "off"); add variants`,
        );
      }
      return;
    }
    const list = entries(flag.variants);
    const first = list[0];
    if (first === undefined) return;
    const expected = declared ?? valueTypeOf(first[1] as JsonValue);
    const why = declared ? "" : ` (like its first variant "${first[0]}")`;
    for (const [name, value] of list) {
      const t = valueTypeOf(value as JsonValue);
      if (t !== expected) {
        this.report(
          [...path, "variants", name],
          `variant "${name}" is ${ARTICLE[t]} but flag "${key}" is ${expected}${why}`,
        );
      }
    }
  }

  private offVariant(): void {
    const { flag, names, path } = this;
    if (flag.offVariant !== undefined) {
      this.variantRef(flag.offVariant, [...path, "offVariant"], "offVariant");
    } else if (names !== undefined && !names.includes(DEFAULT_OFF_VARIANT)) {
      this.report(
        [...path, "variants"],
        `flag "${this.key}" has no variant named "off": add \`offVariant\` naming the variant to serve when the flag is off (variants: ${listOf(names)})`,
      );
    }
  }

  private targets(): void {
    const seen = new Map<string, string>();
    for (const [variant, keys] of entries(this.flag.targets)) {
      const at: Path = [...this.path, "targets", variant];
      this.variantRef(variant, at, "targets name", true);
      arr(keys).forEach((key, i) => {
        if (typeof key !== "string") return;
        const earlier = seen.get(key);
        if (earlier !== undefined && earlier !== variant) {
          this.report(
            [...at, i],
            `targeting key ${describe(key)} is listed for both variant "${earlier}" and "${variant}"`,
          );
        } else if (earlier === undefined) {
          seen.set(key, variant);
        }
      });
    }
  }

  private ruleIds = new Map<string, number>();

  private rule(raw: unknown, index: number): void {
    const rule = obj(raw);
    if (!rule) return;
    const at: Path = [...this.path, "rules", index];
    if (rule.id === undefined || typeof rule.id === "string") {
      const id = ruleIdOf(rule as unknown as Rule, index);
      const idPath = rule.id === undefined ? at : [...at, "id"];
      const earlier = this.ruleIds.get(id);
      if (earlier !== undefined) {
        this.report(
          idPath,
          `rule id "${id}" is already used by rule ${earlier} of flag "${this.key}"; rule ids must be unique`,
        );
      } else if (RESERVED_RULE_IDS.includes(id)) {
        this.report(idPath, `rule id "${id}" is reserved (it names a step of evaluation); choose another`);
      }
      this.ruleIds.set(id, index);
    }
    arr(rule.when).forEach((c, i) => {
      checkCondition(c, [...at, "when", i], this.report, this.segments);
    });
    this.serve(rule.serve, [...at, "serve"], false);
  }

  private serve(value: unknown, path: Path, progressive: boolean): void {
    if (typeof value === "string") {
      this.variantRef(value, path, "serve");
      return;
    }
    const split = obj(value);
    if (!split) return;
    this.weights(split.split, [...path, "split"]);
    if (split.by !== undefined) checkAttribute(split.by, [...path, "by"], this.report);
    if (!progressive) return;
    let previous: { at: string; ms: number } | undefined;
    arr(split.steps).forEach((raw, i) => {
      const step = obj(raw);
      if (!step) return;
      const at = str(step.at);
      if (at !== undefined) {
        const problem = instantProblem(at);
        if (problem) this.report([...path, "steps", i, "at"], `step time: ${problem}`);
        else {
          const ms = instantMillis(at);
          if (previous && ms <= previous.ms) {
            this.report(
              [...path, "steps", i, "at"],
              `step times must increase: "${at}" is not after the previous step "${previous.at}"`,
            );
          }
          previous = { at, ms };
        }
      }
      this.weights(step.split, [...path, "steps", i, "split"]);
    });
  }

  private weights(raw: unknown, path: Path): void {
    const weights = obj(raw);
    if (!weights) return;
    let total = 0;
    let allValid = true;
    for (const [variant, weight] of Object.entries(weights)) {
      this.variantRef(variant, [...path, variant], "split name", true);
      if (typeof weight === "number" && Number.isInteger(weight) && weight >= 0) total += weight;
      else allValid = false;
    }
    if (!allValid) return;
    if (total === 0)
      this.report(path, "split weights sum to zero: give at least one variant a weight above 0");
    else if (total > MAX_TOTAL_WEIGHT) {
      this.report(
        path,
        `split weights add up to ${total}; the most allowed is ${MAX_TOTAL_WEIGHT} (1,000,000)`,
      );
    }
  }

  private geo(): void {
    const geo = obj(this.flag.geo);
    if (!geo) return;
    const at: Path = [...this.path, "geo"];
    this.variantRef(geo.serve, [...at, "serve"], "geo serve");
    if (geo.allow === undefined && geo.block === undefined) {
      this.report(at, `geo needs an "allow" or a "block" list`);
    }
    for (const side of ["allow", "block"] as const) {
      const lists = obj(geo[side]);
      if (lists && !["countries", "continents", "regions"].some((k) => arr(lists[k]).length > 0)) {
        this.report([...at, side], `geo ${side} lists no countries, continents or regions`);
      }
    }
  }

  private schedule(): void {
    const schedule = obj(this.flag.schedule);
    if (!schedule) return;
    const at: Path = [...this.path, "schedule"];
    const instants: Record<string, number | undefined> = {};
    for (const field of ["from", "until"] as const) {
      const text = str(schedule[field]);
      if (text === undefined) continue;
      const problem = instantProblem(text);
      if (problem) this.report([...at, field], `${field}: ${problem}`);
      else instants[field] = instantMillis(text);
    }
    const { from, until } = instants;
    if (from !== undefined && until !== undefined && from >= until) {
      this.report([...at, "until"], `until (${schedule.until}) must be after from (${schedule.from})`);
    }
    const zone = str(schedule.timezone);
    const zoneProblem = zone === undefined ? undefined : timeZoneProblem(zone);
    if (zoneProblem) this.report([...at, "timezone"], zoneProblem);
    arr(schedule.windows).forEach((raw, i) => {
      const w = obj(raw);
      const start = str(w?.start);
      const end = str(w?.end);
      // start > end is an overnight window (22:00-02:00), which the engine counts for the day it
      // starts on; only an empty window is a mistake.
      if (start && end && START.test(start) && END.test(end) && minutesOf(start) === minutesOf(end)) {
        this.report(
          [...at, "windows", i, "end"],
          `window end "${end}" equals its start "${start}": the window is empty`,
        );
      }
    });
  }
}

/** Runs every per-flag check on one flag of the document. */
export function checkFlag(key: string, raw: unknown, segments: Obj, report: Report): void {
  const flag = obj(raw);
  if (!flag) return;
  new FlagChecker(key, flag, variantNames(flag), segments, report).run();
}
