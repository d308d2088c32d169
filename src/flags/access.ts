/**
 * Defensive readers for the semantic checks, which also run on documents the schema rejected (so
 * that every problem is reported at once) and must never trust a shape. Pure, no I/O.
 */
import type { Problem } from "./problem";

export type Path = (string | number)[];
export type Report = (path: Path, message: string, onKey?: boolean) => void;
export type Obj = Record<string, unknown>;

/** A report function that appends to `problems`. */
export function reporter(problems: Problem[]): Report {
  return (path, message, onKey) => {
    problems.push(onKey ? { path, message, onKey } : { path, message });
  };
}

export function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function entries(value: unknown): [string, unknown][] {
  const o = obj(value);
  return o ? Object.entries(o) : [];
}

export function has(o: Obj, key: string): boolean {
  return Object.hasOwn(o, key);
}
