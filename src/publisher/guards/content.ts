/**
 * Whether a document changes anything the worker serves, and which removals were not asked for.
 * Pure, no I/O.
 */
import type { FlagsDocument } from "../../flags/types";
import { canonicalJson, diffDocuments, isEmpty } from "../diff";

/**
 * True when `next` serves exactly what `live` does: the same flags, segments and gates. Key order,
 * a split written as a map or as a list in the same order, and `$schema` do not count.
 */
export function sameContent(live: FlagsDocument | undefined, next: FlagsDocument): boolean {
  return (
    live !== undefined &&
    isEmpty(diffDocuments(live, next)) &&
    canonicalJson(live.gates ?? []) === canonicalJson(next.gates ?? [])
  );
}

/** The removed flags that were not allowed: all are with `all`, else only those `named`. */
export function unallowedRemovals(removed: string[], all: boolean, named: readonly string[]): string[] {
  if (all) return [];
  const allowed = new Set(named);
  return removed.filter((key) => !allowed.has(key));
}
