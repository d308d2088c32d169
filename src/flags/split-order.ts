/**
 * Keeps the written order of split weights, which decides who gets which variant. A JavaScript object
 * puts integer-like keys first, in ascending order, so `split: { "10": 1, "2": 1 }` would come out of
 * the YAML or JSON reader as "2" before "10"; such a split becomes a list of entries in the order the
 * file wrote it. Splits a map keeps in order stay maps. Publisher side: reads the YAML tree, no I/O.
 */
import { type Document, isAlias, isMap, isSeq, type YAMLMap } from "yaml";
import { keyName, pairOf } from "./locate";
import type { FlagsDocument, SplitWeights } from "./types";

type Path = readonly (string | number)[];

/** The node at `path` (aliases resolved), or undefined. */
function nodeAt(doc: Document, path: Path): unknown {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) node = pairOf(node as YAMLMap, String(segment))?.value;
    else if (isSeq(node) && typeof segment === "number") node = node.items[segment];
    else return undefined;
  }
  return isAlias(node) ? node.resolve(doc) : node;
}

/** Whether two lists hold the same strings in the same order. */
function sameOrder(a: readonly (string | undefined)[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Rewrites, in place, every split of a validated `document` whose map lost the order written in
 * `doc` (the YAML tree it was read from) as a list of `{ variant, weight }` entries in that order.
 */
export function keepSplitOrder(doc: Document, document: FlagsDocument): FlagsDocument {
  const fix = (holder: { split: SplitWeights }, path: Path) => {
    const weights = holder.split;
    // A list is in order already (and an aliased holder may have been fixed through another path).
    if (Array.isArray(weights)) return;
    const node = nodeAt(doc, [...path, "split"]);
    if (!isMap(node)) return;
    const written = node.items.map((pair) => keyName(pair.key));
    if (sameOrder(written, Object.keys(weights))) return;
    if (!written.every((name) => name !== undefined && Object.hasOwn(weights, name))) return;
    holder.split = (written as string[]).map((variant) => ({ variant, weight: weights[variant]! }));
  };
  for (const [key, flag] of Object.entries(document.flags)) {
    const at = ["flags", key];
    const fallthrough = flag.fallthrough;
    if (typeof fallthrough === "object") {
      fix(fallthrough, [...at, "fallthrough"]);
      const steps = fallthrough.steps ?? [];
      for (let i = 0; i < steps.length; i++) fix(steps[i]!, [...at, "fallthrough", "steps", i]);
    }
    const rules = flag.rules ?? [];
    for (let i = 0; i < rules.length; i++) {
      const serve = rules[i]!.serve;
      if (typeof serve === "object") fix(serve, [...at, "rules", i, "serve"]);
    }
  }
  return document;
}
