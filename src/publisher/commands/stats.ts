/**
 * `edgeflags stats [FLAG] [--since 1h]`: served counts per variant over time and when each flag was
 * last evaluated, from the worker's GET /v1/stats (its aggregator, src/observe), and the guards' state
 * from GET /v1/guards (armed, healthy, tripped, bake progress). A sparkline per
 * variant on a terminal, plain tables otherwise (per-minute rows when a flag is named), the worker's
 * answer with --json. Reads with STATS_TOKEN (EDGEFLAGS_STATS_TOKEN / statsToken), else the publish
 * token. I/O: the worker, over HTTP.
 */
import { type CliOptions, resolveSettings } from "../config";
import { type GuardsRead, printGuards, readGuards } from "../guard-state";
import { CliError, EXIT } from "../output";
import { minuteTable, sparkLines, summaryTable } from "../stats/render";
import { fetchStats, statsAccess } from "../worker-call";
import type { CommandContext } from "./context";

export interface StatsOptions extends CliOptions {
  since?: string;
}

/** The worker keeps 24 h of per-minute counts. */
const MAX_SINCE_MINUTES = 24 * 60;

/** `--since`: 90m, 1h, 24h; in minutes. */
export function sinceMinutes(text: string | undefined): number {
  if (text === undefined) return 60;
  const m = /^(\d{1,5})\s*([mh])$/.exec(text.trim());
  const minutes = m ? Number(m[1]) * (m[2] === "h" ? 60 : 1) : Number.NaN;
  if (!(minutes >= 1 && minutes <= MAX_SINCE_MINUTES)) {
    throw new CliError(EXIT.usage, `--since takes a duration from 1m to 24h, like 90m or 6h, got "${text}"`);
  }
  return minutes;
}

export async function statsCommand(
  flag: string | undefined,
  options: StatsOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const minutes = sinceMinutes(options.since);
  if (flag !== undefined && flag.trim() === "") throw new CliError(EXIT.usage, "FLAG takes a flag key");
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  const access = statsAccess(settings);
  const where = `worker ${access.url}`;
  const body = await fetchStats(access, { since: `${minutes}m`, ...(flag === undefined ? {} : { flag }) });

  // Guard state next to the counts: a guard that tripped explains a variant that stopped being served.
  const read = await readGuards(access.url, access.token);
  const guards: GuardsRead =
    read.error !== undefined || flag === undefined
      ? read
      : {
          ...read,
          trips: read.trips.filter((t) => t.flag === flag),
          guards: read.guards.filter((g) => g.flag === flag),
        };
  out.result({ ok: true, ...body, guards: guards.error !== undefined ? { error: guards.error } : guards });
  const printGuardState = () => {
    out.line();
    printGuards(out, guards);
  };
  const now = Date.now();
  const scope = flag === undefined ? "every flag" : flag;
  out.line(
    `${out.paint("bold", body.environment)}: evaluations of ${scope} in the last ${options.since ?? "1h"} on ${where}${body.counting && body.counting !== "on" ? ` (counting ${body.counting})` : ""}`,
  );
  if (body.flags.length === 0) {
    out.line(out.paint("dim", "no evaluations counted in this range"));
    printGuardState();
    return EXIT.ok;
  }
  if (ctx.io.stdoutTTY) {
    for (const line of sparkLines(body, now, (style, text) => out.paint(style, text))) out.line(line);
    printGuardState();
    return EXIT.ok;
  }
  for (const line of summaryTable(body)) out.line(line);
  if (flag !== undefined) {
    out.line();
    for (const line of minuteTable(body)) out.line(line);
  }
  printGuardState();
  return EXIT.ok;
}
