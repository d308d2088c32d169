/**
 * Condition operators: compiled once into a flat record (RegExps, thresholds, parsed versions) and
 * tested by a switch on a small integer; the value lists of in / not_in go to the snapshot's value
 * index instead (see ValueIndex in compiled.ts). Wrong-typed values never throw, they just do not match.
 * Pure, no I/O.
 */
import { MAX_PATTERN_LENGTH } from "../flags/defaults";
import type { AttributeCondition, Operator, ScalarValue } from "../flags/types";
import { resolveAttribute, SRC_KEY } from "./attributes";
import type { CompiledSegment } from "./compiled";
import { isoDateMillis } from "./dates";
import { CompileError } from "./errors";
import { regexHazard } from "./regex-safety";
import { compareSemver, parseSemver, type SemVer } from "./semver";

export const OP_IN = 0;
export const OP_NOT_IN = 1;
export const OP_STARTS_WITH = 4;
export const OP_ENDS_WITH = 5;
export const OP_CONTAINS = 6;
export const OP_MATCHES = 7;
export const OP_LT = 8;
export const OP_LTE = 9;
export const OP_GT = 10;
export const OP_GTE = 11;
export const OP_BEFORE = 12;
export const OP_AFTER = 13;
export const OP_SEMVER_EQ = 14;
export const OP_SEMVER_LT = 15;
export const OP_SEMVER_LTE = 16;
export const OP_SEMVER_GT = 17;
export const OP_SEMVER_GTE = 18;
export const OP_EXISTS = 19;
export const OP_NOT_EXISTS = 20;
/** Segment membership: not an attribute operator, but sharing the record keeps memo entries monomorphic. */
export const OP_SEGMENT = 21;

const OP_CODES: Readonly<Record<Operator, number>> = {
  in: OP_IN,
  not_in: OP_NOT_IN,
  // equals / not_equals take one value: the same as in / not_in over a one-element set.
  equals: OP_IN,
  not_equals: OP_NOT_IN,
  starts_with: OP_STARTS_WITH,
  ends_with: OP_ENDS_WITH,
  contains: OP_CONTAINS,
  matches: OP_MATCHES,
  lt: OP_LT,
  lte: OP_LTE,
  gt: OP_GT,
  gte: OP_GTE,
  before: OP_BEFORE,
  after: OP_AFTER,
  semver_eq: OP_SEMVER_EQ,
  semver_lt: OP_SEMVER_LT,
  semver_lte: OP_SEMVER_LTE,
  semver_gt: OP_SEMVER_GT,
  semver_gte: OP_SEMVER_GTE,
  exists: OP_EXISTS,
  not_exists: OP_NOT_EXISTS,
};

/** Regex inputs longer than this never match: bounds the cost of a hostile attribute. */
export const MAX_MATCH_INPUT = 1024;

/**
 * What decides one entry of the per-context outcome memo: an attribute test, or segment membership
 * (OP_SEGMENT). Every operator uses the same record shape (unused fields are null or 0), so property
 * reads stay monomorphic.
 */
export interface CompiledTest {
  readonly op: number;
  /** Index of the attribute in the per-context value memo (one per distinct attribute reference). */
  readonly slot: number;
  /**
   * Index of this test's outcome in the per-context memo. Identical tests are compiled once and
   * shared, so a condition repeated across many flags is decided once per context.
   */
  readonly memo: number;
  readonly src: number;
  readonly name: string;
  readonly guarded: boolean;
  /** starts_with / ends_with / contains */
  readonly strings: readonly string[] | null;
  readonly regexes: readonly RegExp[] | null;
  /** lt..gte and before/after: the single bound "any of the values" reduces to. */
  readonly bound: number;
  readonly versions: readonly SemVer[] | null;
  readonly segment: CompiledSegment | null;
}

const NUMERIC_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DIGITS_RE = /^\d+$/;

/** A finite number from a number or a numeric string (query parameters are strings); else NaN. */
export function toNumber(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === "string" && v.length <= 64 && NUMERIC_RE.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

/**
 * Epoch ms from an ISO 8601 string, an epoch-ms number or a string of digits; else NaN. A string
 * naming no real moment ("2026-02-30", "T25:00") is NaN, not the day it would roll over to. A
 * date-time without an offset is read as UTC, so the result never depends on the host's zone.
 */
export function toEpochMs(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v !== "string" || v.length > 64) return Number.NaN;
  if (DIGITS_RE.test(v)) return Number(v);
  return isoDateMillis(v);
}

export function isScalar(v: unknown): boolean {
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean";
}

/** Segment membership in the shared record shape: the segment's memo entry. */
export function segmentTest(segment: CompiledSegment): CompiledTest {
  return {
    op: OP_SEGMENT,
    slot: -1,
    memo: segment.memo,
    src: 0,
    name: "",
    guarded: false,
    strings: null,
    regexes: null,
    bound: 0,
    versions: null,
    segment,
  };
}

/**
 * A target list as a memo entry: `key in <the list>`, the list's keys being in the value index of the
 * targeting key's slot like any other `in` test's values.
 */
export function targetKeysTest(slot: number, memo: number): CompiledTest {
  return {
    op: OP_IN,
    slot,
    memo,
    src: SRC_KEY,
    name: "",
    guarded: false,
    strings: null,
    regexes: null,
    bound: 0,
    versions: null,
    segment: null,
  };
}

/** Compiles one attribute condition; throws CompileError for values that cannot be meant. */
export function compileTest(
  cond: AttributeCondition,
  path: string,
  slot: number,
  memo: number,
): CompiledTest {
  const op = OP_CODES[cond.op];
  if (op === undefined || !Object.hasOwn(OP_CODES, cond.op)) {
    throw new CompileError("UNKNOWN_OPERATOR", path, `unknown operator "${String(cond.op)}"`);
  }
  const values: readonly ScalarValue[] = cond.values ?? [];
  const needsValues = op !== OP_EXISTS && op !== OP_NOT_EXISTS;
  if (needsValues && values.length === 0) {
    throw new CompileError("INVALID_VALUES", path, `operator "${cond.op}" needs values`);
  }
  const { src, name, guarded } = resolveAttribute(cond.attribute, path);
  let strings: string[] | null = null;
  let regexes: RegExp[] | null = null;
  let bound = 0;
  let versions: SemVer[] | null = null;
  switch (op) {
    case OP_STARTS_WITH:
    case OP_ENDS_WITH:
    case OP_CONTAINS:
      strings = values.map(String);
      break;
    case OP_MATCHES:
      regexes = values.map((v) => {
        if (String(v).length > MAX_PATTERN_LENGTH) {
          throw new CompileError(
            "INVALID_REGEX",
            path,
            `regular expression is longer than ${MAX_PATTERN_LENGTH} characters`,
          );
        }
        let re: RegExp;
        try {
          re = new RegExp(String(v));
        } catch {
          throw new CompileError("INVALID_REGEX", path, `invalid regular expression ${JSON.stringify(v)}`);
        }
        // The last line of defence: a snapshot signed by any publisher, old or new, cannot bring in a
        // pattern that backtracks catastrophically.
        const hazard = regexHazard(String(v));
        if (hazard !== undefined) {
          throw new CompileError(
            "UNSAFE_REGEX",
            path,
            `unsafe regular expression ${JSON.stringify(v)}: ${hazard.reason}`,
          );
        }
        return re;
      });
      break;
    case OP_LT:
    case OP_LTE:
    case OP_GT:
    case OP_GTE:
    case OP_BEFORE:
    case OP_AFTER: {
      const isDate = op === OP_BEFORE || op === OP_AFTER;
      const nums = values.map((v) => (isDate ? toEpochMs(v) : toNumber(v)));
      if (nums.some(Number.isNaN)) {
        throw new CompileError(
          isDate ? "INVALID_DATE" : "INVALID_VALUES",
          path,
          `operator "${cond.op}" needs ${isDate ? "dates" : "numbers"}`,
        );
      }
      // "Less than any value" is "less than the largest"; "greater than any" is "greater than the smallest".
      const upper = op === OP_LT || op === OP_LTE || op === OP_BEFORE;
      bound = upper ? Math.max(...nums) : Math.min(...nums);
      break;
    }
    case OP_SEMVER_EQ:
    case OP_SEMVER_LT:
    case OP_SEMVER_LTE:
    case OP_SEMVER_GT:
    case OP_SEMVER_GTE:
      versions = values.map((v) => {
        const parsed = typeof v === "string" ? parseSemver(v) : undefined;
        if (parsed === undefined) {
          throw new CompileError("INVALID_SEMVER", path, `invalid semantic version ${JSON.stringify(v)}`);
        }
        return parsed;
      });
      break;
  }
  return {
    op,
    slot,
    memo,
    src,
    name,
    guarded,
    strings,
    regexes,
    bound,
    versions,
    segment: null,
  };
}

function anySemver(t: CompiledTest, v: unknown): boolean {
  if (typeof v !== "string") return false;
  const parsed = parseSemver(v);
  if (parsed === undefined) return false;
  for (const want of t.versions!) {
    const c = compareSemver(parsed, want);
    switch (t.op) {
      case OP_SEMVER_EQ:
        if (c === 0) return true;
        break;
      case OP_SEMVER_LT:
        if (c < 0) return true;
        break;
      case OP_SEMVER_LTE:
        if (c <= 0) return true;
        break;
      case OP_SEMVER_GT:
        if (c > 0) return true;
        break;
      default:
        if (c >= 0) return true;
    }
  }
  return false;
}

/**
 * Tests an attribute value (undefined when missing) against any operator but in / not_in, which
 * evaluation decides with the value index. A missing attribute fails every operator but not_exists; a
 * value of the wrong type fails every operator, negative ones included.
 */
export function testValue(t: CompiledTest, v: unknown): boolean {
  const op = t.op;
  if (v === undefined) return op === OP_NOT_EXISTS;
  switch (op) {
    case OP_STARTS_WITH: {
      if (typeof v !== "string") return false;
      for (const s of t.strings!) if (v.startsWith(s)) return true;
      return false;
    }
    case OP_ENDS_WITH: {
      if (typeof v !== "string") return false;
      for (const s of t.strings!) if (v.endsWith(s)) return true;
      return false;
    }
    case OP_CONTAINS: {
      if (typeof v !== "string") return false;
      for (const s of t.strings!) if (v.includes(s)) return true;
      return false;
    }
    case OP_MATCHES: {
      if (typeof v !== "string" || v.length > MAX_MATCH_INPUT) return false;
      for (const re of t.regexes!) if (re.test(v)) return true;
      return false;
    }
    case OP_LT:
      return toNumber(v) < t.bound;
    case OP_LTE:
      return toNumber(v) <= t.bound;
    case OP_GT:
      return toNumber(v) > t.bound;
    case OP_GTE:
      return toNumber(v) >= t.bound;
    case OP_BEFORE:
      return toEpochMs(v) < t.bound;
    case OP_AFTER:
      return toEpochMs(v) > t.bound;
    case OP_EXISTS:
      return true;
    case OP_NOT_EXISTS:
      return false;
    default:
      return anySemver(t, v);
  }
}
