/**
 * The building blocks of the generated shape check (shape.generated.ts, written by `npm run schema`
 * from src/flags/schema.ts): one check per kind of schema node. A check answers true when its value
 * fits; otherwise false, having recorded what was expected, while every enclosing list, map and object
 * adds its key to the path on the way out, so the success path builds nothing. Pure, no I/O; the
 * state of one run lives in this module (an isolate runs one check at a time).
 */
import { isJsonValue, isMap } from "./json-value";

/** Where the first mismatch is, and what the schema expected there. */
export interface ShapeProblem {
  path: (string | number)[];
  expected: string;
}

/** True when `x` fits; otherwise false, with `wanted` and `where` telling why. */
export type Check = (x: unknown) => boolean;

/** The path to the mismatch, innermost key first while unwinding. */
const where: (string | number)[] = [];
let wanted = "";

function no(expected: string): false {
  wanted = expected;
  return false;
}

export const text: Check = (x) => typeof x === "string" || no("a string");
export const num: Check = (x) => (typeof x === "number" && !Number.isNaN(x)) || no("a number");
export const bool: Check = (x) => typeof x === "boolean" || no("true or false");
export const nonEmpty: Check = (x) => (x as { length: number }).length !== 0 || no("not empty");
export const whole: Check = (x) => Number.isInteger(x) || no("a whole number");
export const finite: Check = (x) => Number.isFinite(x) || no("a finite number");
export const atLeast =
  (n: number): Check =>
  (x) =>
    (x as number) >= n || no(`a number >= ${n}`);
export const atMost =
  (n: number): Check =>
  (x) =>
    (x as number) <= n || no(`a number <= ${n}`);
export const minEntries =
  (n: number): Check =>
  (x) =>
    Object.keys(x as object).length >= n || no(`at least ${n} entries`);
export const matches =
  (re: RegExp): Check =>
  (x) =>
    re.test(x as string) || no(`text matching ${re}`);

export function oneOf(options: readonly unknown[]): Check {
  const set = new Set(options);
  return (x) => set.has(x) || no(`one of ${options.map((o) => JSON.stringify(o)).join(", ")}`);
}

/** Each check in turn (a schema, then its pipe's actions). */
export function all(...checks: Check[]): Check {
  return (x) => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(x)) return false;
    return true;
  };
}

export function opt(check: Check): Check {
  return (x) => x === undefined || check(x);
}

export const jsonValue: Check = (x) => isJsonValue(x) || no("plain JSON");

export function list(item: Check): Check {
  return (x) => {
    if (!Array.isArray(x)) return no("a list");
    for (let i = 0; i < x.length; i++) {
      if (!item(x[i])) {
        where.push(i);
        return false;
      }
    }
    return true;
  };
}

export function map(key: Check, value: Check): Check {
  return (x) => {
    if (!isMap(x)) return no("a map");
    const keys = Object.keys(x);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (!key(k)) {
        wanted = `a key that is ${wanted}`;
        where.push(k);
        return false;
      }
      if (!value(x[k])) {
        where.push(k);
        return false;
      }
    }
    return true;
  };
}

export function fields(entries: Record<string, Check>, required: readonly string[]): Check {
  const known = new Map(Object.entries(entries));
  return (x) => {
    if (!isMap(x)) return no("a map of fields");
    const keys = Object.keys(x);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const check = known.get(k);
      if (check === undefined) {
        where.push(k);
        return no("no such field");
      }
      if (!check(x[k])) {
        where.push(k);
        return false;
      }
    }
    for (const name of required) {
      if (!Object.hasOwn(x, name)) {
        where.push(name);
        return no("a required field");
      }
    }
    return true;
  };
}

/** The first option that accepts; when none does, the mismatch of the one that got furthest. */
export function anyOf(options: readonly Check[], expects: string): Check {
  return (x) => {
    const depth = where.length;
    let best: { path: (string | number)[]; wanted: string } | undefined;
    for (const option of options) {
      // A check that accepts leaves the path as it found it.
      if (option(x)) return true;
      if (best === undefined || where.length - depth > best.path.length) {
        best = { path: where.slice(depth), wanted };
      }
      if (where.length !== depth) where.length = depth;
    }
    if (best !== undefined && best.path.length > 0) {
      where.push(...best.path);
      wanted = best.wanted;
      return false;
    }
    return no(expects);
  };
}

/** Runs `check` on `value`: undefined when it fits, else where and what was expected. */
export function runCheck(check: Check, value: unknown): ShapeProblem | undefined {
  where.length = 0;
  if (check(value)) return undefined;
  return { path: [...where].reverse(), expected: wanted };
}
