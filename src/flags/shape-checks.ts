/**
 * The runtime of the generated shape check (shape.generated.ts, written by `npm run schema` from
 * src/flags/schema.ts). A generated check answers true when its value fits; otherwise false, having
 * called `no` where the mismatch is (what was expected), while every enclosing list, map and object
 * adds its key on the way out (`no`'s and `up`'s extra arguments), so the success path builds nothing.
 * Pure, no I/O; the state of one run lives in this module (an isolate runs one check at a time).
 */
export { isJsonValue } from "./json-value";

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

/**
 * Records a mismatch and the keys around it (innermost first). A mismatch starts here, so this drops
 * what a union option that failed before another one fitted may have left behind.
 */
export function no(expected: string, ...keys: (string | number)[]): false {
  wanted = expected;
  where.length = 0;
  where.push(...keys);
  return false;
}

/** Adds the keys around a mismatch an inner check recorded (innermost first). */
export function up(...keys: (string | number)[]): false {
  where.push(...keys);
  return false;
}

/**
 * Whether `o` has each required field, once an object's check met fewer than all of them; else the
 * first one missing.
 */
export function present(o: object, ...required: string[]): boolean {
  for (const name of required) if (!Object.hasOwn(o, name)) return no("a required field", name);
  return true;
}

/** A lookup table of `options` (each maps to 1), without a prototype, for a long picklist. */
export function table(options: readonly string[]): Record<string, 1 | undefined> {
  const lookup: Record<string, 1 | undefined> = Object.create(null);
  for (const option of options) lookup[option] = 1;
  return lookup;
}

/** What a picklist's `table` expected: `one of "a", "b"`. */
export function oneOf(table: Record<string, 1 | undefined>): string {
  return `one of ${Object.keys(table)
    .map((option) => JSON.stringify(option))
    .join(", ")}`;
}

/**
 * A union, once its quick tries all failed: the first option that accepts; when none does, the
 * mismatch of the first option that got furthest, or `expects` when none got past the value itself.
 */
export function anyOf(x: unknown, options: readonly Check[], expects: string): boolean {
  let best: (string | number)[] | undefined;
  let bestWanted = "";
  for (const option of options) {
    where.length = 0;
    if (option(x)) return true;
    if (best === undefined || where.length > best.length) {
      best = where.slice();
      bestWanted = wanted;
    }
  }
  if (best === undefined || best.length === 0) return no(expects);
  no(bestWanted, ...best);
  return false;
}

/** Runs `check` on `value`: undefined when it fits, else where and what was expected. */
export function runCheck(check: Check, value: unknown): ShapeProblem | undefined {
  where.length = 0;
  if (check(value)) return undefined;
  return { path: [...where].reverse(), expected: wanted };
}
