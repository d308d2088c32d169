/**
 * `edgeflags lint FILE`: validation, then the policy checks; errors fail (exit 1), warnings fail only
 * with --strict. Findings print as file:line:column lines or, with --format github, as annotations.
 * I/O: reads the file.
 */
import { lintSettings } from "../config";
import { type LintOptions as LintSettings, lintDocument, type Severity } from "../lint";
import { CliError, EXIT, type Output } from "../output";
import { type FlagsSource, type LocatedFinding, locateFindings, readFlagsSource } from "../source";
import type { CommandContext } from "./context";
import { printProblems, problemJson } from "./validate";

export interface LintOptions {
  now?: string;
  strict?: boolean;
  /** The config file whose `lint` settings apply (default: EDGEFLAGS_CONFIG or the nearest one). */
  config?: string;
}

/** `--now` as epoch ms (a date or an instant), or the clock. */
export function parseNow(now: string | undefined): number {
  if (now === undefined) return Date.now();
  const ms = Date.parse(now);
  if (Number.isNaN(ms)) throw new CliError(EXIT.usage, `--now must be a date like 2026-07-01, got "${now}"`);
  return ms;
}

/** Lint findings for a valid source, located. */
export function lintSource(source: FlagsSource, now: number, settings: LintSettings = {}): LocatedFinding[] {
  return source.document ? locateFindings(source, lintDocument(source.document, now, settings)) : [];
}

/**
 * One finding as `file:line:column: severity: message [rule]`, or a GitHub annotation on that line.
 * `as` prints it at another severity, with `note` after it: publish shows live lint debt as a warning
 * that does not block.
 */
export function printFinding(out: Output, f: LocatedFinding, as: Severity = f.severity, note?: string): void {
  if (out.github) {
    const place = { file: f.file, line: f.line, column: f.column, title: `edgeflags lint (${f.rule})` };
    out.annotate(as, note ? `${f.message} (${note})` : f.message, place);
    return;
  }
  const label =
    as === "error" ? out.paint(["bold", "red"], "error") : out.paint(["bold", "yellow"], "warning");
  const tail = note ? ` ${out.paint("dim", `(${note})`)}` : "";
  out.line(
    `${f.file}:${f.line}:${f.column}: ${label}: ${f.message} ${out.paint("dim", `[${f.rule}]`)}${tail}`,
  );
}

/** Every finding. With `strict`, warnings fail too, so GitHub annotates them as errors. */
export function printFindings(out: Output, findings: LocatedFinding[], strict = false): void {
  for (const f of findings) {
    if (out.github && strict && f.severity === "warning")
      printFinding(out, f, "error", "a warning; --strict fails on it");
    else printFinding(out, f);
  }
}

export const findingJson = (f: LocatedFinding) => ({
  severity: f.severity,
  rule: f.rule,
  file: f.file,
  line: f.line,
  column: f.column,
  path: f.path,
  message: f.message,
});

export async function lintCommand(file: string, options: LintOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const now = parseNow(options.now);
  const settings = lintSettings(options, ctx.io.env, ctx.io.cwd);
  const source = readFlagsSource(file, ctx.io.cwd);
  if (source.problems.length > 0) {
    out.result({ ok: false, file, problems: source.problems.map(problemJson), findings: [] });
    printProblems(out, source.problems);
    out.line(`${source.problems.length} validation problem(s): fix them before lint can run`);
    return EXIT.problems;
  }
  const findings = lintSource(source, now, settings);
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.length - errors;
  const failed = errors > 0 || (options.strict === true && warnings > 0);
  out.result({ ok: !failed, file, errors, warnings, findings: findings.map(findingJson) });
  printFindings(out, findings, options.strict === true);
  if (findings.length === 0) out.ok(`${file}: no lint findings`);
  else out.line(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  return failed ? EXIT.problems : EXIT.ok;
}
