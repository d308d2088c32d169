/**
 * Reading a flags file for the publisher: text, parse and validate (every problem with
 * file:line:column), the source digest, and placing lint findings at their line. I/O: reads the file.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { locate } from "../flags/locate";
import { type LocatedProblem, parseFlagsFile } from "../flags/parse";
import type { FlagsDocument } from "../flags/types";
import type { LintFinding } from "./lint";
import { CliError, EXIT } from "./output";

export interface FlagsSource {
  file: string;
  text: string;
  /** `sha256:<hex>` of the file's bytes, signed into the snapshot. */
  digest: string;
  /** Present only when the file has no problems. */
  document: FlagsDocument | undefined;
  problems: LocatedProblem[];
}

/**
 * Reads and validates a flags file (relative to `cwd`; problems name it as given). A file that cannot
 * be read is a CliError (exit 3).
 */
export function readFlagsSource(file: string, cwd: string): FlagsSource {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new CliError(EXIT.io, `cannot read ${file}: ${why}`);
  }
  const { document, problems } = parseFlagsFile(text, file);
  return { file, text, digest: digestOf(text), document, problems };
}

/** `sha256:<hex>` of a text's UTF-8 bytes. */
export function digestOf(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

export interface LocatedFinding extends LintFinding {
  file: string;
  line: number;
  column: number;
}

/** The place in the file of something at a document path. */
export interface Place {
  file: string;
  line: number;
  column: number;
}

/** Lint findings (or anything at a document path) with the file:line:column of their node. */
export function locateFindings<T extends Pick<LintFinding, "path" | "onKey">>(
  source: FlagsSource,
  findings: T[],
): (T & Place)[] {
  // Positions need the YAML tree again; most files have no findings to place.
  if (findings.length === 0) return [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter });
  return findings.map((f) => {
    const { line, col } = lineCounter.linePos(locate(doc, f.path, f.onKey));
    return { ...f, file: source.file, line, column: col };
  });
}
