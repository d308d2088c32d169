/**
 * `edgeflags validate FILE`: every problem in a flags file at once, each as file:line:column (or, with
 * --format github, as an annotation on that line of the pull request). I/O: reads the file.
 */
import { formatProblem, type LocatedProblem } from "../../flags/parse";
import type { FlagsDocument } from "../../flags/types";
import { CliError, EXIT, type Output } from "../output";
import { type FlagsSource, readFlagsSource } from "../source";
import type { CommandContext } from "./context";

/** Prints problems as `file:line:column: error: message` lines, or as GitHub error annotations. */
export function printProblems(out: Output, problems: LocatedProblem[]): void {
  for (const p of problems) {
    if (out.github) {
      const place = { file: p.file, line: p.line, column: p.column, title: "edgeflags validate" };
      out.annotate("error", p.message, place);
      continue;
    }
    const [where, ...rest] = formatProblem(p).split(": ");
    out.line(`${where}: ${out.paint(["bold", "red"], "error")}: ${rest.join(": ")}`);
  }
}

export const problemJson = (p: LocatedProblem) => ({
  file: p.file,
  line: p.line,
  column: p.column,
  path: p.path,
  message: p.message,
});

/**
 * The flags file every command but `validate` needs valid: read, and on problems print them (and the
 * JSON result) and exit 1 with `${file} has N problem(s): ${outcome}`.
 */
export function readValidSource(
  out: Output,
  file: string,
  cwd: string,
  outcome: string,
): FlagsSource & { document: FlagsDocument } {
  const source = readFlagsSource(file, cwd);
  if (source.document) return source as FlagsSource & { document: FlagsDocument };
  out.result({ ok: false, file, problems: source.problems.map(problemJson) });
  printProblems(out, source.problems);
  throw new CliError(EXIT.problems, `${file} has ${source.problems.length} problem(s): ${outcome}`);
}

export async function validateCommand(file: string, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const source = readFlagsSource(file, ctx.io.cwd);
  const flags = source.document ? Object.keys(source.document.flags).length : 0;
  out.result({ ok: source.problems.length === 0, file, flags, problems: source.problems.map(problemJson) });
  printProblems(out, source.problems);
  if (source.problems.length > 0) {
    const n = source.problems.length;
    out.line(`${n} problem${n === 1 ? "" : "s"} in ${file}`);
    return EXIT.problems;
  }
  out.ok(`${file} is valid: ${flags} flag${flags === 1 ? "" : "s"}`);
  return EXIT.ok;
}
