/**
 * `edgeflags explain [FLAG] --key K --country DE [--attr k=v ...] [--at TIME]`: asks the worker's
 * POST /v1/explain why this context gets what it gets, and prints each evaluation step with ✓ / ✗ and
 * the values read (every flag in one line each without FLAG); --json prints the worker's answer.
 * Needs the worker URL and one of its SERVER_API_KEYS (EDGEFLAGS_SERVER_API_KEY, or `serverApiKey`
 * in .edgeflags/config.json, which `npm start` writes). I/O: the worker, over HTTP.
 */
import { decidedBy, describeResult, show, traceLines } from "../../explain/lines";
import type { FlagTrace } from "../../explain/trace";
import { type CliOptions, resolveSettings } from "../config";
import { CliError, EXIT, type Output } from "../output";
import { callWorker } from "../worker-call";
import type { CommandContext } from "./context";
import { parseSince } from "./history";

export interface ExplainOptions extends CliOptions {
  /** The targeting key (not a key file here). */
  key?: string;
  country?: string;
  continent?: string;
  region?: string;
  attr?: string[];
  identity?: string[];
  at?: string;
}

/** What POST /v1/explain answers. */
export interface ExplainAnswer {
  environment: string;
  version: number;
  issuedAt: string;
  snapshot: "current" | "history";
  at: string;
  context: Record<string, unknown>;
  flag?: FlagTrace;
  flags?: FlagTrace[];
}

/** `k=v` pairs; a value that is JSON (21, true, "01234", ["a"]) is sent as that value, else as text. */
export function parsePairs(pairs: readonly string[] | undefined, option: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(EXIT.usage, `${option} takes NAME=VALUE, got "${pair}"`);
    const text = pair.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Plain text.
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

/** The request body: context, geo, identity and `at` as the worker takes them. */
export function explainBody(
  flag: string | undefined,
  options: ExplainOptions,
  now: number,
): Record<string, unknown> {
  const geo: Record<string, string> = {};
  if (options.country) geo.country = options.country;
  if (options.continent) geo.continent = options.continent;
  if (options.region) {
    // `US-NY` names the country too; `NY` only the region code.
    const dash = options.region.indexOf("-");
    if (dash > 0) geo.country ??= options.region.slice(0, dash);
    geo.regionCode = dash > 0 ? options.region.slice(dash + 1) : options.region;
  }
  const identity = parsePairs(options.identity, "--identity");
  const at = options.at === undefined ? undefined : new Date(parseSince(options.at, now)).toISOString();
  return {
    ...(flag === undefined ? {} : { flag }),
    context: { ...parsePairs(options.attr, "--attr"), ...(options.key ? { targetingKey: options.key } : {}) },
    ...(Object.keys(geo).length > 0 ? { geo } : {}),
    ...(Object.keys(identity).length > 0 ? { identity } : {}),
    ...(at === undefined ? {} : { at }),
  };
}

export async function explainCommand(
  flag: string | undefined,
  options: ExplainOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  if (flag !== undefined && flag.trim() === "") throw new CliError(EXIT.usage, "FLAG takes a flag key");
  const body = explainBody(flag, options, Date.now());
  // Here --key is the targeting key, not a signing key file.
  const settings = resolveSettings({ ...options, key: undefined }, ctx.io.env, ctx.io.cwd);
  if (!settings.url) {
    throw new CliError(
      EXIT.usage,
      "no worker URL: pass --url, set EDGEFLAGS_URL, or run `npm start` to write .edgeflags/config.json",
    );
  }
  if (!settings.serverApiKey) {
    throw new CliError(
      EXIT.usage,
      "no server API key: set EDGEFLAGS_SERVER_API_KEY to one of the worker's SERVER_API_KEYS (or serverApiKey in .edgeflags/config.json)",
    );
  }
  const answer = await callWorker<ExplainAnswer>({
    url: settings.url,
    route: "POST /v1/explain",
    headers: { "content-type": "application/json", "x-api-key": settings.serverApiKey },
    body: JSON.stringify(body),
    refused: "the key: check EDGEFLAGS_SERVER_API_KEY",
    doing: "explain",
  });

  out.result({ ok: true, ...answer });
  const when = answer.snapshot === "history" ? `live at ${answer.at}` : `current, at ${answer.at}`;
  out.line(
    out.paint(
      "dim",
      `${answer.environment} version ${answer.version} (${when}); context ${JSON.stringify(answer.context)}`,
    ),
  );
  if (answer.flag) {
    printTrace(out, answer.flag);
    return EXIT.ok;
  }
  const traces = answer.flags ?? [];
  const rows = traces.map((t) => [
    t.key,
    cut(JSON.stringify(t.result.value) ?? "(error)"),
    describeResult(t),
    decidedBy(t),
  ]);
  for (const line of table([["FLAG", "VALUE", "RESULT", "DECIDED BY"], ...rows])) out.line(line);
  return EXIT.ok;
}

/** A value shown in a table cell: at most 40 characters. */
const cut = (text: string) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** One flag's steps, with ✓ / ✗ and the values read; prerequisites' own steps indented below them. */
function printTrace(out: Output, t: FlagTrace): void {
  out.line(`${out.paint("bold", t.key)} = ${show(t.result.value)}  ${describeResult(t)}`);
  for (const l of traceLines(t)) {
    const mark =
      l.mark === undefined ? "" : l.mark ? `${out.paint("green", "✓")} ` : `${out.paint("red", "✗")} `;
    const text = l.error ? `${out.paint("red", "error")}: ${l.text}` : l.text;
    out.line(`${"  ".repeat(l.depth)}${mark}${text}`);
  }
}
