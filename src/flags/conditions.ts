/**
 * Semantic checks of conditions and attribute references: operator arity and value types, geo
 * fields, regexes, dates, versions, segment references. Pure, no I/O.
 */
import { type Obj, obj, type Path, type Report, str } from "./access";
import { GEO_FIELDS } from "./defaults";
import { instantProblem, isSemver, regexProblem } from "./formats";
import { describe, didYouMean, listOf } from "./messages";
import { OPERATORS, type Operator } from "./types";

const NUMERIC = new Set<Operator>(["lt", "lte", "gt", "gte"]);
const DATES = new Set<Operator>(["before", "after"]);
const SEMVER = new Set<Operator>(["semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte"]);
const STRINGS = new Set<Operator>(["starts_with", "ends_with", "contains"]);

/** Checks an attribute reference's namespace: `geo.<field>` must name a real geo field. */
export function checkAttribute(attribute: unknown, path: Path, report: Report): void {
  const name = str(attribute);
  if (name === undefined) return;
  if (name === "geo" || name === "identity") {
    report(
      path,
      `attribute "${name}" needs a field after the dot, like "${name}.${name === "geo" ? "country" : "email"}"`,
    );
  } else if (name.startsWith("geo.")) {
    const field = name.slice(4);
    if (!(GEO_FIELDS as readonly string[]).includes(field)) {
      report(
        path,
        `unknown geo field ${describe(field)}${didYouMean(field, GEO_FIELDS)}; expected one of: ${listOf(GEO_FIELDS)}`,
      );
    }
  } else if (name === "identity.") {
    report(path, `attribute "identity." needs a claim name, like "identity.email"`);
  }
}

function arityProblem(op: Operator, values: unknown[] | undefined): string | undefined {
  const count = values?.length ?? 0;
  if (op === "exists" || op === "not_exists") {
    return count > 0 ? `operator "${op}" takes no values; remove "values"` : undefined;
  }
  if (op === "equals" || op === "not_equals") {
    return count === 1 ? undefined : `operator "${op}" takes exactly one value, got ${count}`;
  }
  return count === 0 ? `operator "${op}" needs at least one value in "values"` : undefined;
}

function valueProblem(op: Operator, value: unknown): string | undefined {
  if (NUMERIC.has(op)) {
    return typeof value === "number"
      ? undefined
      : `operator "${op}" compares numbers; ${describe(value)} is not a number`;
  }
  if (DATES.has(op)) {
    if (typeof value === "number")
      return Number.isInteger(value) ? undefined : `${value} is not epoch milliseconds`;
    if (typeof value !== "string") return `operator "${op}" needs an ISO 8601 date or epoch milliseconds`;
    const problem = instantProblem(value);
    return problem && `operator "${op}": ${problem}`;
  }
  if (SEMVER.has(op)) {
    return typeof value === "string" && isSemver(value)
      ? undefined
      : `operator "${op}": ${describe(value)} is not a semantic version (like "1.2.3" or "v2.0.0-beta.1")`;
  }
  if (STRINGS.has(op)) {
    return typeof value === "string"
      ? undefined
      : `operator "${op}" compares strings; ${describe(value)} is not a string`;
  }
  if (op === "matches") {
    return typeof value === "string"
      ? regexProblem(value)
      : `operator "matches" needs a regular expression string`;
  }
  return undefined;
}

/** Checks one condition; `segments` is the document's segment map (undefined inside segments). */
export function checkCondition(raw: unknown, path: Path, report: Report, segments: Obj | undefined): void {
  const c = obj(raw);
  if (!c) return;
  if ("segment" in c) {
    const name = str(c.segment);
    if (segments !== undefined && name !== undefined && !Object.hasOwn(segments, name)) {
      const known = Object.keys(segments);
      report(
        [...path, "segment"],
        `unknown segment ${describe(name)}${didYouMean(name, known)}; defined segments: ${listOf(known)}`,
      );
    }
    return;
  }
  checkAttribute(c.attribute, [...path, "attribute"], report);
  const op = c.op as Operator;
  if (!OPERATORS.includes(op)) return;
  if (c.values !== undefined && !Array.isArray(c.values)) return;
  const values = c.values as unknown[] | undefined;
  const arity = arityProblem(op, values);
  if (arity) report(values === undefined ? path : [...path, "values"], arity);
  values?.forEach((value, i) => {
    const problem = valueProblem(op, value);
    if (problem) report([...path, "values", i], problem);
  });
}
