/**
 * What a variant's value may be: plain JSON (null, booleans, finite numbers, strings, lists and plain
 * maps, at most 64 levels deep), and what a map is. Shared by the valibot schema, the generated shape
 * check, the semantic checks and snapshot verification. Pure.
 */
import type { JsonValue } from "./types";

/** A map: an object that is not a list (JSON's objects; also what YAML's mappings parse to). */
export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (depth > 64 || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((item) => isJsonValue(item, depth + 1));
}
