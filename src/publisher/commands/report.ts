/**
 * `edgeflags report FILE [PATHS...]`: the weekly stale report, grouped by owner, as Markdown (stdout
 * or --out) and --json. References come from a scan like `refs` or from a `refs --out` file
 * (--refs); history from the target, unless --offline. A report, not a gate: exit 0 unless the
 * input is broken. I/O: reads the flags file, the config, the scanned files or --refs, the target's
 * history; writes --out.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type CliOptions, lintSettings, resolveSettings } from "../config";
import { DEFAULT_STALE_AFTER_DAYS } from "../kind-policies";
import { CliError, EXIT } from "../output";
import type { CodeLocation } from "../refs/report";
import {
  buildReport,
  type EvaluationCounts,
  evaluationsFromStats,
  type HistoryInput,
  renderMarkdown,
  type StaleReport,
} from "../report";
import { fetchStats, statsAccess } from "../worker-call";
import { type CommandContext, openSession } from "./context";
import { parseNow } from "./lint";
import { loadRefsConfig, type RefsOptions, scanReferences } from "./refs";
import { readValidSource } from "./validate";

export interface ReportOptions
  extends CliOptions,
    Pick<RefsOptions, "include" | "exclude" | "pattern" | "defaultPatterns" | "gitignore"> {
  /** A JSON file written by `refs --out`, instead of scanning. */
  refs?: string;
  /** Do not read the history from the target. */
  offline?: boolean;
  /** N of "fully rolled out or off for N days" (default 30). */
  days?: string;
  now?: string;
  /** Write the Markdown here. */
  out?: string;
}

/** Default N of "fully rolled out or fully off for N days" and "not evaluated for N days". */
export const DEFAULT_REPORT_DAYS = 30;
/** The most records a target returns at once (the worker's history limit). */
const HISTORY_LIMIT = 100;

function parseDays(text: string | undefined): number {
  if (text === undefined) return DEFAULT_REPORT_DAYS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(EXIT.usage, `--days takes a whole number >= 1, got "${text}"`);
  return n;
}

const isLocation = (v: unknown): v is CodeLocation => {
  const l = v as CodeLocation;
  return typeof v === "object" && v !== null && typeof l.file === "string" && Number.isInteger(l.line);
};

/** The references of a `refs --out` file; a flag it does not list has unknown references. */
function readRefsFile(path: string, cwd: string): Map<string, CodeLocation[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(cwd, path), "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new CliError(EXIT.io, `cannot read ${path}: ${(err as Error).message}`);
    throw new CliError(EXIT.usage, `${path} is not JSON: ${(err as Error).message}`);
  }
  const refs = (parsed as { references?: unknown } | null)?.references;
  if (typeof refs !== "object" || refs === null || Array.isArray(refs)) {
    throw new CliError(
      EXIT.usage,
      `${path} has no "references" object: write it with \`edgeflags refs --out\``,
    );
  }
  const map = new Map<string, CodeLocation[]>();
  for (const [key, list] of Object.entries(refs)) {
    if (!Array.isArray(list) || !list.every(isLocation)) {
      throw new CliError(EXIT.usage, `${path}: references.${key} must be a list of { file, line, column }`);
    }
    map.set(
      key,
      list.map((l) => ({ file: l.file, line: l.line, column: l.column })),
    );
  }
  return map;
}

/** Every flag's references from a scan of `paths`, as `refs` would find them. */
function scanRefs(
  file: string,
  keys: string[],
  paths: string[],
  options: ReportOptions,
  ctx: CommandContext,
): Map<string, CodeLocation[]> {
  const { cwd } = ctx.io;
  const config = loadRefsConfig(options, ctx);
  const skip = [resolve(cwd, file), ...(options.out ? [resolve(cwd, options.out)] : [])];
  const { scan } = scanReferences(keys, paths, options, config, cwd, skip);
  for (const u of scan.unreadable) ctx.out.warning(`could not read ${u.file}: ${u.error}`);
  const map = new Map<string, CodeLocation[]>(keys.map((k) => [k, []]));
  for (const h of scan.hits) map.get(h.key)?.push({ file: h.file, line: h.line, column: h.column });
  return map;
}

/** The target's history, or why it could not be read: a report says "unknown since", it does not fail. */
async function readHistory(options: ReportOptions, ctx: CommandContext): Promise<HistoryInput> {
  if (options.offline) return { read: false, why: "--offline" };
  let session: Awaited<ReturnType<typeof openSession>> | undefined;
  try {
    session = await openSession(ctx, options, "if-set");
    const records = await session.target.history(HISTORY_LIMIT);
    return { read: true, where: session.target.where, records, complete: records.length < HISTORY_LIMIT };
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    ctx.out.warning(`history not read, "since" dates are unknown: ${err.message}`);
    return { read: false, why: err.message };
  } finally {
    await session?.target.close();
  }
}

/**
 * When each flag was last evaluated, from the worker's counts (GET /v1/stats), or why that is
 * unknown: a report says "unknown", it does not fail.
 */
async function readEvaluations(options: ReportOptions, ctx: CommandContext): Promise<EvaluationCounts> {
  if (options.offline) return { known: false, note: "unknown (--offline)" };
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  if (!settings.url) {
    return { known: false, note: "unknown (no worker URL to read counts from: set EDGEFLAGS_URL)" };
  }
  try {
    const access = statsAccess(settings);
    // Each flag's last evaluated time comes with any range; the shortest keeps the answer small.
    const answer = await fetchStats(access, { since: "1m" });
    return evaluationsFromStats(answer, `worker ${access.url}`);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    ctx.out.warning(`counts not read, "not evaluated" is unknown: ${err.message}`);
    return { known: false, note: `unknown (${err.message})` };
  }
}

/** The report as --json prints it. */
const reportJson = (report: StaleReport) => ({ ok: true, ...report });

export async function reportCommand(
  file: string,
  paths: string[],
  options: ReportOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const { cwd, env } = ctx.io;
  const now = parseNow(options.now);
  const days = parseDays(options.days);
  if (options.refs && paths.length > 0) {
    throw new CliError(EXIT.usage, "give either paths to scan or --refs FILE, not both");
  }
  const settings = lintSettings(options, env, cwd);
  const source = readValidSource(out, file, cwd, "fix them before report can run");
  const flags = source.document.flags;
  const references = options.refs
    ? readRefsFile(options.refs, cwd)
    : scanRefs(file, Object.keys(flags), paths, options, ctx);
  const history = await readHistory(options, ctx);
  const evaluations = await readEvaluations(options, ctx);
  const report = buildReport(
    { file, flags, references, history, evaluations },
    { now, days, staleAfterDays: settings.staleAfterDays ?? DEFAULT_STALE_AFTER_DAYS },
  );
  const markdown = renderMarkdown(report);
  if (options.out) {
    try {
      writeFileSync(resolve(cwd, options.out), markdown);
    } catch (err) {
      throw new CliError(EXIT.io, `cannot write ${options.out}: ${(err as Error).message}`);
    }
  }
  out.result(reportJson(report));
  if (options.out) {
    const listed = report.owners.reduce((n, o) => n + o.flags.length, 0);
    out.line(`wrote ${options.out}: ${listed} of ${report.total} flags need attention`);
  } else if (!out.json) {
    ctx.io.stdout(markdown);
  }
  return EXIT.ok;
}
