/**
 * Semantic checks of conditions and attribute references: operator arity and value types, geo
 * fields, regexes, dates, versions, segment references. No I/O (regexes are analysed by recheck,
 * loaded on first use: see redos.ts).
 */
import { at, type Loc, type Obj, obj, type Report, str } from "./access";
import { GEO_FIELDS } from "./defaults";
import { instantProblem, isSemver, regexProblem } from "./formats";
import { describe, didYouMean, listOf } from "./messages";
import { redosProblem } from "./redos";
import { OPERATORS, type Operator } from "./types";

const KNOWN_OPERATORS = new Set<unknown>(OPERATORS);

/**
 * What is wrong with an attribute reference's namespace, or undefined: `geo.<field>` must name a real
 * geo field and `identity.<claim>` a claim.
 */
export function attributeProblem(attribute: unknown): string | undefined {
  const name = str(attribute);
  if (name === undefined) return undefined;
  if (name === "geo" || name === "identity") {
    return `attribute "${name}" needs a field after the dot, like "${name}.${name === "geo" ? "country" : "email"}"`;
  }
  if (name.startsWith("geo.")) {
    const field = name.slice(4);
    if ((GEO_FIELDS as readonly string[]).includes(field)) return undefined;
    return `unknown geo field ${describe(field)}${didYouMean(field, GEO_FIELDS)}; expected one of: ${listOf(GEO_FIELDS)}`;
  }
  if (name === "identity.") return `attribute "identity." needs a claim name, like "identity.email"`;
  return undefined;
}

function arityProblem(op: Operator, values: readonly unknown[] | undefined): string | undefined {
  const count = values?.length ?? 0;
  if (op === "exists" || op === "not_exists") {
    return count > 0 ? `operator "${op}" takes no values; remove "values"` : undefined;
  }
  if (op === "equals" || op === "not_equals") {
    return count === 1 ? undefined : `operator "${op}" takes exactly one value, got ${count}`;
  }
  return count === 0 ? `operator "${op}" needs at least one value in "values"` : undefined;
}

/** What is wrong with one value of an operator, or undefined. */
type ValueCheck = (op: Operator, value: unknown) => string | undefined;

const numeric: ValueCheck = (op, value) =>
  typeof value === "number"
    ? undefined
    : `operator "${op}" compares numbers; ${describe(value)} is not a number`;

const date: ValueCheck = (op, value) => {
  if (typeof value === "number")
    return Number.isInteger(value) ? undefined : `${value} is not epoch milliseconds`;
  if (typeof value !== "string") return `operator "${op}" needs an ISO 8601 date or epoch milliseconds`;
  const problem = instantProblem(value);
  return problem && `operator "${op}": ${problem}`;
};

const semver: ValueCheck = (op, value) =>
  typeof value === "string" && isSemver(value)
    ? undefined
    : `operator "${op}": ${describe(value)} is not a semantic version (like "1.2.3" or "v2.0.0-beta.1")`;

const text: ValueCheck = (op, value) =>
  typeof value === "string"
    ? undefined
    : `operator "${op}" compares strings; ${describe(value)} is not a string`;

// The structural check compile makes too, then the full ReDoS analysis for anything subtler.
const regex: ValueCheck = (_op, value) =>
  typeof value === "string"
    ? (regexProblem(value) ?? redosProblem(value))
    : `operator "matches" needs a regular expression string`;

/** Operators whose values have a format of their own; the others take any scalar. */
const VALUE_CHECKS = new Map<Operator, ValueCheck>([
  ["lt", numeric],
  ["lte", numeric],
  ["gt", numeric],
  ["gte", numeric],
  ["before", date],
  ["after", date],
  ["semver_eq", semver],
  ["semver_lt", semver],
  ["semver_lte", semver],
  ["semver_gt", semver],
  ["semver_gte", semver],
  ["starts_with", text],
  ["ends_with", text],
  ["contains", text],
  ["matches", regex],
]);

/**
 * Checks condition `index` of the list at `list`; `segments` is the document's segment map
 * (undefined inside segments).
 */
export function checkCondition(
  raw: unknown,
  list: Loc,
  index: number,
  report: Report,
  segments: Obj | undefined,
): void {
  const c = obj(raw);
  if (!c) return;
  if ("segment" in c) {
    const name = str(c.segment);
    if (segments !== undefined && name !== undefined && !Object.hasOwn(segments, name)) {
      const known = Object.keys(segments);
      report(
        at(at(list, index), "segment"),
        `unknown segment ${describe(name)}${didYouMean(name, known)}; defined segments: ${listOf(known)}`,
      );
    }
    return;
  }
  const attribute = attributeProblem(c.attribute);
  if (attribute) report(at(at(list, index), "attribute"), attribute);
  const op = c.op as Operator;
  if (!KNOWN_OPERATORS.has(op)) return;
  if (c.values !== undefined && !Array.isArray(c.values)) return;
  const values = c.values as readonly unknown[] | undefined;
  const arity = arityProblem(op, values);
  if (arity) report(values === undefined ? at(list, index) : at(at(list, index), "values"), arity);
  const check = VALUE_CHECKS.get(op);
  if (check === undefined || values === undefined) return;
  for (let i = 0; i < values.length; i++) {
    const problem = check(op, values[i]);
    if (problem) report(at(at(at(list, index), "values"), i), problem);
  }
}
