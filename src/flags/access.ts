/**
 * Defensive readers for the semantic checks, which also run on documents the schema rejected (so
 * that every problem is reported at once) and must never trust a shape. Pure, no I/O.
 */
import { isMap } from "./json-value";
import type { Problem } from "./problem";

export type Path = (string | number)[];
export type Obj = Record<string, unknown>;

/**
 * Where a node sits in the document: a link to its parent's place. The checks run on every file the
 * publisher validates and almost never find a problem, so a path array is only built when one is
 * reported (see `pathOf`), never for every node visited.
 */
export interface Loc {
  readonly up: Loc | undefined;
  readonly key: string | number;
}

/** Reports a problem at `at` (the document root when undefined). */
export type Report = (at: Loc | undefined, message: string, onKey?: boolean) => void;

/** The place of child `key` of `up`. */
export function at(up: Loc | undefined, key: string | number): Loc {
  return { up, key };
}

/** The path from the document root to `loc`. */
export function pathOf(loc: Loc | undefined): Path {
  const path: Path = [];
  for (let l = loc; l !== undefined; l = l.up) path.push(l.key);
  return path.reverse();
}

/** A report function that appends to `problems`. */
export function reporter(problems: Problem[]): Report {
  return (loc, message, onKey) => {
    const path = pathOf(loc);
    problems.push(onKey ? { path, message, onKey } : { path, message });
  };
}

const NONE: readonly unknown[] = Object.freeze([]);

export function obj(value: unknown): Obj | undefined {
  return isMap(value) ? value : undefined;
}

/** The value if it is a list, else a shared empty list (nothing allocated for an absent field). */
export function arr(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : NONE;
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function has(o: Obj, key: string): boolean {
  return Object.hasOwn(o, key);
}
