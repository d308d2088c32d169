/**
 * Maps a problem's path back to a position in the YAML source, through the `yaml` Document API.
 * Pure (publisher side only: imports 'yaml').
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from "yaml";

/** Text of a map key as the parsed document sees it (keys become strings in JS). */
export function keyName(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

interface KeyIndex {
  items: readonly unknown[];
  length: number;
  pairs: Map<string, Pair>;
}
const indexes = new WeakMap<YAMLMap, KeyIndex>();

/**
 * The pair of `map` whose key is `name` (the first, if repeated). Each map is indexed once, so finding
 * every flag of a large file takes linear time, not quadratic; an index is rebuilt if the map changes.
 */
export function pairOf(map: YAMLMap, name: string): Pair | undefined {
  let index = indexes.get(map);
  if (index === undefined || index.items !== map.items || index.length !== map.items.length) {
    const pairs = new Map<string, Pair>();
    for (const pair of map.items) {
      const key = keyName(pair.key);
      if (key !== undefined && !pairs.has(key)) pairs.set(key, pair as Pair);
    }
    index = { items: map.items, length: map.items.length, pairs };
    indexes.set(map, index);
  }
  return index.pairs.get(name);
}

function start(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/**
 * Offset of the node a path names: the value, or the key itself when `onKey`. A path that leaves the
 * document (a missing field) stops at the key holding the deepest map it reached, or that map.
 */
export function locate(doc: Document, path: readonly (string | number)[], onKey = false): number {
  let node: unknown = doc.contents;
  let holder: unknown; // key of the pair whose value is `node`, if any
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc) ?? node;
    const segment = path[i];
    const fallback = start(holder) ?? start(node) ?? 0;
    if (isMap(node)) {
      const pair = pairOf(node as YAMLMap, String(segment));
      if (!pair) return fallback;
      if (i === path.length - 1 && onKey) return start(pair.key) ?? fallback;
      holder = pair.key;
      // `key:` with nothing after it: point at the key.
      node = pair.value === null || start(pair.value) === undefined ? undefined : pair.value;
      if (node === undefined) return start(pair.key) ?? fallback;
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
      holder = undefined;
      node = node.items[segment];
    } else {
      return fallback;
    }
  }
  return start(node) ?? start(holder) ?? 0;
}
