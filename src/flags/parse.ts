/**
 * Turns the text of a flags file (YAML, or JSON, which is YAML) into a validated FlagsDocument, with
 * every problem located at file:line:column. Publisher side: imports 'yaml'; only loadFlagsFile
 * does I/O (node:fs).
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
// Gate patterns are checked with URLPattern, which Node 20 lacks (workerd has it): installs it only if absent.
import "urlpattern-polyfill";
import { LineCounter, type Node, parseDocument, visit, type YAMLMap } from "yaml";
import { keyName, locate } from "./locate";
import type { Problem } from "./problem";
import { keepSplitOrder } from "./split-order";
import type { FlagsDocument } from "./types";
import { validateDocument } from "./validate";

/** A problem with its place in a file; line and column are 1-based. */
export interface LocatedProblem extends Problem {
  file: string;
  line: number;
  column: number;
}

export interface ParseResult {
  /** Present only when there are no problems at all. */
  document?: FlagsDocument;
  problems: LocatedProblem[];
}

/**
 * The largest flags file read, in UTF-8 bytes: the worker's default snapshot limit
 * (DEFAULT_MAX_SNAPSHOT_BYTES, 5 MiB). A larger file could not become a snapshot the worker accepts,
 * so it is refused before any parsing.
 */
export const MAX_FLAGS_FILE_BYTES = 5 * 1024 * 1024;

/**
 * Parses and validates a flags file. YAML syntax errors, duplicate keys, schema and semantic problems
 * all come back as problems sorted by position; nothing here throws on bad input. Time grows linearly
 * with the size of the file, which is at most MAX_FLAGS_FILE_BYTES.
 */
export function parseFlagsFile(text: string, file: string): ParseResult {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so only a long text needs its bytes counted.
  if (text.length * 3 > MAX_FLAGS_FILE_BYTES) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_FLAGS_FILE_BYTES) {
      const message = `the flags file is ${bytes} bytes; the limit is ${MAX_FLAGS_FILE_BYTES} bytes (${mib(MAX_FLAGS_FILE_BYTES)})`;
      return { problems: [{ file, line: 1, column: 1, path: [], message }] };
    }
  }
  const lineCounter = new LineCounter();
  // yaml's own unique-key check compares each key with every earlier key of its map: quadratic in the
  // number of flags. Duplicates are found below with a Set instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problems: LocatedProblem[] = [];
  const at = (offset: number, problem: Problem) => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ ...problem, file, line, column: col });
  };

  // Maps that repeat a key (each repeat reported here); the first of duplicate keys wins below.
  const repeating: YAMLMap[] = [];
  let intact = true;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      let repeats = false;
      for (const pair of map.items) {
        // Keys as the data will have them: 1 and "1" are the same key of a JavaScript object.
        const key = keyName(pair.key);
        if (key === undefined) continue;
        if (!seen.has(key)) seen.add(key);
        else {
          repeats = true;
          at((pair.key as Node).range?.[0] ?? 0, {
            path: [],
            message: `duplicate key ${JSON.stringify(key)}: a key may appear only once in a map`,
          });
        }
      }
      if (repeats) repeating.push(map as YAMLMap);
    },
    Alias(_, alias) {
      if (!alias.resolve(doc)) {
        intact = false;
        at(alias.range?.[0] ?? 0, {
          path: [],
          message: `unknown alias "*${alias.source}": define the anchor "&${alias.source}" before using it`,
        });
      }
    },
  });

  if (doc.errors.length > 0) intact = false;
  for (const error of doc.errors)
    at(error.pos[0], { path: [], message: `YAML syntax error: ${error.message}` });
  for (const warning of doc.warnings) at(warning.pos[0], { path: [], message: `YAML: ${warning.message}` });

  let document: FlagsDocument | undefined;
  if (intact) {
    // The first of duplicate keys wins (each was reported above), so the data validated below is the
    // data `locate` finds when it maps a problem back to a position.
    for (const map of repeating) {
      const seen = new Set<string>();
      map.items = map.items.filter((pair) => {
        const key = keyName(pair.key);
        if (key === undefined) return true;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // Only alias bombs get here (too many alias expansions).
      at(0, { path: [], message: `cannot read the YAML: ${(error as Error).message}` });
      intact = false;
    }
    const result = intact ? validateDocument(data) : undefined;
    // Only now, so every problem above was found and placed in the document as written.
    if (result?.ok) document = keepSplitOrder(doc, result.document);
    else for (const p of result?.problems ?? []) at(locate(doc, p.path, p.onKey), p);
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems.length === 0 && document ? { document, problems } : { problems };
}

/** `flags.yaml:12:7: message`, the format editors and CI annotate. */
export function formatProblem(p: LocatedProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

function mib(bytes: number): string {
  return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
}

/** Reads and parses a flags file from disk. Throws only if the file cannot be read. */
export function loadFlagsFile(path: string): ParseResult {
  return parseFlagsFile(readFileSync(path, "utf8"), path);
}
