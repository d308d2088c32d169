/**
 * `edgeflags refs FILE [PATHS...]`: scans application code for the flags file's keys and reports
 * references to flags that do not exist (typos, deleted flags), flags nothing references, and expired
 * flags the code still names - those fail (exit 1), and with --strict unknown keys do too. --json
 * prints the reference map, --out writes it to a file for other tools. I/O: reads the flags file,
 * the config file and the scanned files; writes --out.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { locate } from "../../flags/locate";
import { findConfigFile } from "../config";
import { CliError, EXIT, type Output } from "../output";
import {
  analyseRefs,
  compileMatcher,
  DEFAULT_PATTERNS,
  type RefsAnalysis,
  type ScanResult,
  scanFiles,
  walkFiles,
} from "../refs";
import { PatternError } from "../refs/matcher";
import { MAX_FILE_BYTES } from "../refs/scan";
import type { WalkResult } from "../refs/walk";
import type { CommandContext } from "./context";
import { parseNow } from "./lint";
import { readValidSource } from "./validate";

export interface RefsOptions {
  include?: string[];
  exclude?: string[];
  pattern?: string[];
  /** false with --no-default-patterns. */
  defaultPatterns?: boolean;
  /** false with --no-gitignore. */
  gitignore?: boolean;
  now?: string;
  strict?: boolean;
  out?: string;
  config?: string;
}

/** The `refs` block of .edgeflags/config.json; everything in it adds to the command line's. */
export interface RefsConfig {
  patterns?: string[];
  include?: string[];
  exclude?: string[];
  /** false: only the configured patterns, not DEFAULT_PATTERNS. */
  defaultPatterns?: boolean;
}

const strings = (v: unknown, name: string, file: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new CliError(EXIT.usage, `${file}: refs.${name} must be an array of strings`);
  return v as string[];
};

/** The `refs` settings of the config file (--config, EDGEFLAGS_CONFIG or the nearest one), if any. */
export function loadRefsConfig(options: RefsOptions, ctx: CommandContext): RefsConfig {
  const { env, cwd } = ctx.io;
  const file = options.config
    ? resolve(cwd, options.config)
    : env.EDGEFLAGS_CONFIG?.trim()
      ? resolve(cwd, env.EDGEFLAGS_CONFIG.trim())
      : findConfigFile(cwd);
  if (!file) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new CliError(EXIT.io, `cannot read ${file}: ${(err as Error).message}`);
    throw new CliError(EXIT.usage, `${file} is not JSON: ${(err as Error).message}`);
  }
  const refs = (parsed as { refs?: unknown } | null)?.refs;
  if (refs === undefined) return {};
  if (typeof refs !== "object" || refs === null || Array.isArray(refs))
    throw new CliError(EXIT.usage, `${file}: refs must be an object`);
  const r = refs as Record<string, unknown>;
  if (r.defaultPatterns !== undefined && typeof r.defaultPatterns !== "boolean")
    throw new CliError(EXIT.usage, `${file}: refs.defaultPatterns must be true or false`);
  return {
    patterns: strings(r.patterns, "patterns", file),
    include: strings(r.include, "include", file),
    exclude: strings(r.exclude, "exclude", file),
    ...(r.defaultPatterns === undefined ? {} : { defaultPatterns: r.defaultPatterns as boolean }),
  };
}

/** The JSON document of --json and --out. */
function refsJson(flagsFile: string, analysis: RefsAnalysis, stats: Record<string, number>, ok: boolean) {
  return {
    ok,
    flagsFile,
    ...stats,
    references: analysis.references,
    unknown: analysis.unknown,
    unreferenced: analysis.unreferenced,
    expired: analysis.expired.map(({ key, expires, references }) => ({ key, expires, references })),
  };
}

type Level = "error" | "warning";

function finding(
  out: Output,
  level: Level,
  rule: string,
  place: { file: string; line: number; column: number },
  message: string,
): void {
  if (out.github) {
    out.annotate(level, message, { ...place, title: `edgeflags refs (${rule})` });
    return;
  }
  const label =
    level === "error" ? out.paint(["bold", "red"], "error") : out.paint(["bold", "yellow"], "warning");
  out.line(
    `${place.file}:${place.line}:${place.column}: ${label}: ${message} ${out.paint("dim", `[${rule}]`)}`,
  );
}

/** Where each flag's key is in the flags file, for unreferenced-flag findings. */
function flagPlaces(file: string, text: string, keys: string[]) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return new Map(
    keys.map((key) => {
      const { line, col } = lineCounter.linePos(locate(doc, ["flags", key], true));
      return [key, { file, line, column: col }] as const;
    }),
  );
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Walks `paths` (the options' and the config's include/exclude, .gitignore) and scans the files for
 * `keys` with the default, configured and given patterns; `skip` are absolute paths never scanned.
 * Throws CliError for a bad pattern (exit 2) or a path that cannot be read (exit 3). `refs` and
 * `report` share it, so both find the same references.
 */
export function scanReferences(
  keys: Iterable<string>,
  paths: string[],
  options: RefsOptions,
  config: RefsConfig,
  cwd: string,
  skip: string[],
): { walked: WalkResult; scan: ScanResult } {
  const useDefaults = options.defaultPatterns !== false && config.defaultPatterns !== false;
  const patterns = [
    ...(useDefaults ? DEFAULT_PATTERNS.map((p) => p.source) : []),
    ...(config.patterns ?? []),
    ...(options.pattern ?? []),
  ];
  let matcher: ReturnType<typeof compileMatcher>;
  try {
    matcher = compileMatcher(keys, patterns);
  } catch (err) {
    if (err instanceof PatternError) throw new CliError(EXIT.usage, err.message);
    throw err;
  }

  let walked: ReturnType<typeof walkFiles>;
  try {
    walked = walkFiles({
      cwd,
      roots: paths,
      include: [...(config.include ?? []), ...(options.include ?? [])],
      exclude: [...(config.exclude ?? []), ...(options.exclude ?? [])],
      skip,
      gitignore: options.gitignore !== false,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT" || e.code === "EACCES" || e.code === "ENOTDIR") {
      const where = e.path ? relative(cwd, e.path).split(sep).join("/") || "." : "a path";
      throw new CliError(
        EXIT.io,
        `cannot read ${where}: ${e.code === "ENOENT" ? "no such file or folder" : e.code}`,
      );
    }
    throw err;
  }
  const scan = scanFiles(walked.files, matcher);
  return { walked, scan };
}

export async function refsCommand(
  file: string,
  paths: string[],
  options: RefsOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const { cwd } = ctx.io;
  const now = parseNow(options.now);
  const config = loadRefsConfig(options, ctx);
  const source = readValidSource(out, file, cwd, "fix them before refs can run");
  const flags = new Map(Object.entries(source.document.flags).map(([k, f]) => [k, { expires: f.expires }]));

  const outFile = options.out ? resolve(cwd, options.out) : undefined;
  const { walked, scan } = scanReferences(flags.keys(), paths, options, config, cwd, [
    resolve(cwd, file),
    ...(outFile ? [outFile] : []),
  ]);
  const analysis = analyseRefs(flags, scan.hits, now);
  const expiredRefs = analysis.expired.reduce((n, e) => n + e.references.length, 0);
  const strict = options.strict === true;
  const failed = expiredRefs > 0 || (strict && analysis.unknown.length > 0);
  const stats = {
    files: walked.files.length,
    scanned: scan.scanned,
    binary: scan.binary,
    large: scan.large,
    ignored: walked.ignored,
    excluded: walked.excluded,
    unreadable: scan.unreadable.length,
  };
  const doc = refsJson(file, analysis, stats, !failed);
  if (outFile) {
    try {
      writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
    } catch (err) {
      throw new CliError(EXIT.io, `cannot write ${options.out}: ${(err as Error).message}`);
    }
  }
  out.result(doc);

  for (const e of analysis.expired) {
    for (const at of e.references) {
      finding(
        out,
        "error",
        "expired-reference",
        at,
        `flag "${e.key}" expired on ${e.expires} and is still referenced: remove this code path, then the flag`,
      );
    }
  }
  for (const u of analysis.unknown) {
    const hint = u.suggestion ? ` (did you mean "${u.suggestion}"?)` : "";
    finding(
      out,
      strict ? "error" : "warning",
      "unknown-flag",
      u,
      `"${u.key}" is not a flag in ${file}${hint}: a typo or a deleted flag`,
    );
  }
  const places = flagPlaces(file, source.text, analysis.unreferenced);
  for (const key of analysis.unreferenced) {
    const at = places.get(key) ?? { file, line: 1, column: 1 };
    finding(out, "warning", "unreferenced-flag", at, `flag "${key}" has no reference in the scanned code`);
  }
  for (const u of scan.unreadable) out.warning(`could not read ${u.file}: ${u.error}`);

  const referenced = flags.size - analysis.unreferenced.length;
  const total = Object.values(analysis.references).reduce((n, r) => n + r.length, 0);
  const skipped = [
    scan.binary > 0 ? `${scan.binary} binary` : "",
    scan.large > 0 ? `${scan.large} over ${MAX_FILE_BYTES / 1024 / 1024} MiB` : "",
  ].filter(Boolean);
  out.line(
    `${plural(total, "reference")} to ${referenced} of ${plural(flags.size, "flag")} in ${plural(scan.scanned, "file")} scanned` +
      (skipped.length > 0 ? ` (skipped ${skipped.join(", ")})` : "") +
      `; ${plural(analysis.unknown.length, "unknown key")}, ${plural(analysis.expired.length, "expired flag")} still referenced`,
  );
  if (outFile) out.line(`wrote ${options.out}`);
  return failed ? EXIT.problems : EXIT.ok;
}
