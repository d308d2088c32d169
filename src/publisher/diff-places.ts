/**
 * Where each entry of a diff sits in the flags file, for `diff --format github`: one note per added,
 * removed or changed flag, segment or gate, at the line of its first change (so a pull request shows
 * it on a line it touched), with the entry's diff lines as the message. Pure, no I/O.
 */
import { LineCounter, parseDocument } from "yaml";
import { isMap } from "../flags/json-value";
import { locate } from "../flags/locate";
import type { FlagsDocument } from "../flags/types";
import type { CollectionDiff, DocumentDiff } from "./diff";
import { type RenderCollection, renderDiff } from "./render-diff";

export interface DiffNote {
  what: "flag" | "segment" | "gate";
  change: "added" | "removed" | "changed";
  key: string;
  /** 1-based, as editors and GitHub count. */
  line: number;
  column: number;
  /** The entry's lines as `diff` prints them (`~ key`, then one line per change). */
  message: string;
}

/**
 * A change path (`rules[eu-only].serve.split.on`, `variants["a b"]`, `rules[0] (order)`) as its
 * keys, ids and indices: the inverse of the paths diff.ts writes.
 */
export function pathTokens(path: string): (string | number)[] {
  const tokens: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\[([^\]]+)\]|([^.[\]]+)/g;
  for (const m of path.replace(/ \(order\)$/, "").matchAll(re)) {
    if (m[1] !== undefined) tokens.push(Number(m[1]));
    else if (m[2] !== undefined) tokens.push(JSON.parse(m[2]) as string);
    else tokens.push((m[3] ?? m[4]) as string);
  }
  return tokens;
}

/**
 * `tokens` followed through `value` as a document path: list items named by id (or, in a split, by
 * variant) become their index. Stops after the first step the file lacks (a removed field), so the
 * position falls back to what holds it.
 */
function documentPath(value: unknown, tokens: (string | number)[]): (string | number)[] {
  const out: (string | number)[] = [];
  let node = value;
  for (const t of tokens) {
    if (Array.isArray(node)) {
      const i =
        typeof t === "number"
          ? t
          : node.findIndex((item) => isMap(item) && (item.id === t || item.variant === t));
      if (i < 0 || i >= node.length) break;
      out.push(i);
      node = node[i];
    } else {
      out.push(String(t));
      if (!isMap(node) || !Object.hasOwn(node, String(t))) break;
      node = node[String(t)];
    }
  }
  return out;
}

const one = (entry: Partial<RenderCollection>): RenderCollection => ({
  added: [],
  removed: [],
  changed: [],
  ...entry,
});

/** Every entry of `diff` with its place in `text` (the flags file `document` was parsed from). */
export function diffNotes(text: string, document: FlagsDocument, diff: DocumentDiff): DiffNote[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const at = (path: (string | number)[], onKey = false) => {
    const { line, col } = lineCounter.linePos(locate(doc, path, onKey));
    return { line, column: col };
  };
  const gateIndex = (key: string) =>
    (document.gates ?? []).findIndex((g, i) => (g.id ?? `gate-${i}`) === key);
  const notes: DiffNote[] = [];
  const collections: [DiffNote["what"], "flags" | "segments" | "gates", CollectionDiff][] = [
    ["flag", "flags", diff.flags],
    ["segment", "segments", diff.segments],
    ["gate", "gates", diff.gates],
  ];
  for (const [what, field, c] of collections) {
    const render = (entry: Partial<RenderCollection>) =>
      renderDiff({ flags: { added: [], removed: [], changed: [] }, [field]: one(entry) }).join("\n");
    const home = (key: string): [(string | number)[], unknown] => {
      if (field !== "gates") return [[field, key], document[field]?.[key]];
      const i = gateIndex(key);
      return [["gates", i], document.gates?.[i]];
    };
    for (const key of c.added) {
      notes.push({
        what,
        change: "added",
        key,
        ...at(home(key)[0], field !== "gates"),
        message: render({ added: [key] }),
      });
    }
    for (const key of c.removed) {
      // Not in the file any more: noted at the key of its collection (or the file's start).
      notes.push({ what, change: "removed", key, ...at([field], true), message: render({ removed: [key] }) });
    }
    for (const entry of c.changed) {
      const [path, value] = home(entry.key);
      const first = entry.changes[0];
      const place = first ? at([...path, ...documentPath(value, pathTokens(first.path))]) : at(path, true);
      notes.push({
        what,
        change: "changed",
        key: entry.key,
        ...place,
        message: render({ changed: [entry] }),
      });
    }
  }
  return notes;
}
