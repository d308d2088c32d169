/**
 * Turns the text of a flags file (YAML, or JSON, which is YAML) into a validated FlagsDocument, with
 * every problem located at file:line:column. Publisher side: imports 'yaml'; only loadFlagsFile
 * does I/O (node:fs).
 */
import { readFileSync } from "node:fs";
// Gate patterns are checked with URLPattern, which Node 20 lacks (workerd has it): installs it only if absent.
import "urlpattern-polyfill";
import { isScalar, LineCounter, parseDocument, visit } from "yaml";
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

// YAML error codes that leave the document's structure intact, so validation can still run.
const STRUCTURE_INTACT = new Set(["DUPLICATE_KEY"]);

/**
 * Parses and validates a flags file. YAML syntax errors, duplicate keys, schema and semantic problems
 * all come back as problems sorted by position; nothing here throws on bad input.
 */
export function parseFlagsFile(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: LocatedProblem[] = [];
  const at = (offset: number, problem: Problem) => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ ...problem, file, line, column: col });
  };

  const keysAt = new Map<number, string>();
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range) keysAt.set(pair.key.range[0], keyName(pair.key) ?? "");
    },
    Alias(_, alias) {
      if (!alias.resolve(doc)) {
        at(alias.range?.[0] ?? 0, {
          path: [],
          message: `unknown alias "*${alias.source}": define the anchor "&${alias.source}" before using it`,
        });
      }
    },
  });

  let intact = problems.length === 0;
  for (const error of doc.errors) {
    if (!STRUCTURE_INTACT.has(error.code)) intact = false;
    const message =
      error.code === "DUPLICATE_KEY"
        ? `duplicate key ${JSON.stringify(keysAt.get(error.pos[0]) ?? "")}: a key may appear only once in a map`
        : `YAML syntax error: ${error.message}`;
    at(error.pos[0], { path: [], message });
  }
  for (const warning of doc.warnings) at(warning.pos[0], { path: [], message: `YAML: ${warning.message}` });

  let document: FlagsDocument | undefined;
  if (intact) {
    // The first of duplicate keys wins (each was reported above), so the data validated below is the
    // data `locate` finds when it maps a problem back to a position.
    visit(doc, {
      Map(_, map) {
        const seen = new Set<string>();
        map.items = map.items.filter((pair) => {
          const key = keyName(pair.key);
          if (key === undefined) return true;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
      },
    });
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

/** Reads and parses a flags file from disk. Throws only if the file cannot be read. */
export function loadFlagsFile(path: string): ParseResult {
  return parseFlagsFile(readFileSync(path, "utf8"), path);
}
