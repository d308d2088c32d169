/**
 * `edgeflags explain [FLAG] --key K --country DE [--attr k=v ...] [--at TIME]`: asks the worker's
 * POST /v1/explain why this context gets what it gets, and prints each evaluation step with ✓ / ✗ and
 * the values read (every flag in one line each without FLAG); --json prints the worker's answer.
 * Needs the worker URL and one of its SERVER_API_KEYS (EDGEFLAGS_SERVER_API_KEY, or `serverApiKey`
 * in .edgeflags/config.json, which `npm start` writes). I/O: the worker, over HTTP.
 */
import type { FlagTrace, ServeTrace, SplitTrace, StepTrace } from "../../explain/trace";
import { type CliOptions, resolveSettings } from "../config";
import { CliError, EXIT, type Output } from "../output";
import { fetchFailureCause } from "../wait";
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
  const where = `worker ${settings.url}`;
  const timeoutMs = 30_000;
  let res: Response;
  try {
    res = await fetch(`${settings.url}/v1/explain`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": settings.serverApiKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CliError(
      EXIT.io,
      `cannot reach the ${where} (${fetchFailureCause(err, timeoutMs)}): is it running, and is the URL right?`,
    );
  }
  const isJson = res.headers.get("content-type")?.includes("json") === true;
  const answer = (isJson ? await res.json().catch(() => undefined) : await res.body?.cancel()) as
    | (ExplainAnswer & { error?: string; message?: string })
    | undefined;
  if (!res.ok || answer === undefined) {
    if (res.status === 401) {
      throw new CliError(EXIT.problems, `the ${where} refused the key: check EDGEFLAGS_SERVER_API_KEY`);
    }
    if (answer?.error === undefined || (res.status === 404 && answer.error === "not_found")) {
      throw new CliError(
        EXIT.io,
        `${settings.url} did not answer like an edgeflags worker with POST /v1/explain (HTTP ${res.status}): deploy the current worker, and check the URL`,
      );
    }
    const code = res.status >= 500 ? EXIT.io : res.status === 400 ? EXIT.usage : EXIT.problems;
    throw new CliError(code, `explain: ${answer.message ?? res.statusText}`, {
      status: res.status,
      ...answer,
    });
  }

  out.result({ ok: true, ...answer });
  const when = answer.snapshot === "history" ? `live at ${answer.at}` : `current, at ${answer.at}`;
  out.line(
    out.paint(
      "dim",
      `${answer.environment} version ${answer.version} (${when}); context ${JSON.stringify(answer.context)}`,
    ),
  );
  if (answer.flag) {
    printTrace(out, answer.flag, "");
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

/** `on, DEFAULT (fallthrough)` or `ERROR TARGETING_KEY_MISSING (fallthrough)`. */
function describeResult(t: FlagTrace): string {
  const r = t.result;
  const what = r.errorCode !== undefined ? `ERROR ${r.errorCode}` : `${r.variant}, ${r.reason}`;
  return r.ruleId === undefined ? what : `${what} (${r.ruleId})`;
}

/** The step that decided, in a few words. */
function decidedBy(t: FlagTrace): string {
  const last = t.steps.at(-1);
  if (last === undefined) return "";
  switch (last.step) {
    case "flag":
      return "not found";
    case "enabled":
      return "kill switch";
    case "schedule":
      return "schedule";
    case "prerequisite":
      return `prerequisite ${last.flag}`;
    case "geo":
      return `geo ${geoText(last.geo as Record<string, unknown> | null)}`;
    case "targets":
      return "individual target";
    case "rule":
      return `rule ${last.id}`;
    case "fallthrough":
      return last.serve.split ? "fallthrough split" : "fallthrough";
  }
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

const show = (v: unknown) => (v === undefined ? "missing" : JSON.stringify(v));

function geoText(geo: Record<string, unknown> | null): string {
  if (geo === null) return "unknown";
  const parts = [geo.country, geo.continent, geo.regionCode].filter((p) => p !== undefined);
  return parts.length === 0 ? "unknown" : parts.join("/");
}

/** One flag's steps, with ✓ / ✗ and the values read; prerequisites' own steps indented below them. */
function printTrace(out: Output, t: FlagTrace, indent: string): void {
  const ok = (yes: boolean) => (yes ? out.paint("green", "✓") : out.paint("red", "✗"));
  const line = (text: string, depth = 1) => out.line(`${indent}${"  ".repeat(depth)}${text}`);
  if (indent === "") out.line(`${out.paint("bold", t.key)} = ${show(t.result.value)}  ${describeResult(t)}`);
  for (const s of t.steps) printStep(s);
  if (t.result.errorMessage) line(`${out.paint("red", "error")}: ${t.result.errorMessage}`);

  function printStep(s: StepTrace): void {
    switch (s.step) {
      case "flag":
        line(`${ok(false)} no flag named ${JSON.stringify(t.key)} in this version`);
        return;
      case "enabled":
        line(s.enabled ? `${ok(true)} enabled` : `${ok(false)} disabled (kill switch) -> off variant`);
        return;
      case "schedule": {
        const bounds = `from ${s.from ?? "-"} until ${s.until ?? "-"}`;
        const local = s.localTime ? `, ${s.localTime} ${s.timezone}` : "";
        line(
          `${ok(s.active)} schedule ${s.active ? "active" : "inactive"} (${s.inBounds ? "within" : "outside"} ${bounds}${local})`,
        );
        for (const w of s.windows ?? []) line(`${ok(w.open)} ${w.days.join(",")} ${w.start}-${w.end}`, 2);
        return;
      }
      case "prerequisite":
        line(`${ok(s.met)} prerequisite ${s.flag} = ${s.got ?? "(error)"}, needs ${s.variants.join(" or ")}`);
        printTrace(out, s.trace, `${indent}    `);
        return;
      case "geo": {
        const verdict = s.blocked
          ? `blocked by ${s.blocked}`
          : s.hasAllow
            ? s.allowed
              ? `allowed by ${s.allowed}`
              : "outside the allow list"
            : "not blocked";
        line(
          `${ok(!s.decides)} geo ${geoText(s.geo as Record<string, unknown> | null)}: ${verdict}${s.serve ? ` -> ${s.serve}` : ""}`,
        );
        return;
      }
      case "targets": {
        const hit = s.lists.find((l) => l.listed);
        const key =
          s.targetingKey === undefined ? "no targeting key" : `key ${JSON.stringify(s.targetingKey)}`;
        const lists = s.lists
          .map((l) => `${l.variant}: ${l.size} ${l.size === 1 ? "key" : "keys"}`)
          .join(", ");
        line(
          hit
            ? `${ok(true)} ${key} is a target of ${hit.variant}`
            : `${ok(false)} ${key} in no target list (${lists})`,
        );
        return;
      }
      case "rule": {
        const what = s.matched ? "matched" : "no match";
        line(`${ok(s.matched)} rule ${s.id}: ${what}${s.conditions.length === 0 ? " (no conditions)" : ""}`);
        for (const c of s.conditions) {
          if (c.kind === "attribute") {
            const values = c.values === undefined ? "" : ` ${JSON.stringify(c.values)}`;
            line(`${ok(c.holds)} ${c.attribute} ${c.op}${values} (${c.attribute} = ${show(c.read)})`, 2);
          } else {
            const name = `${c.negate ? "not in" : "in"} segment ${c.segment}`;
            line(`${ok(c.holds)} ${name} (member: ${c.member ? "yes" : "no"}, ${c.via})`, 2);
          }
        }
        if (s.serve) printServe(s.serve);
        return;
      }
      case "fallthrough":
        line(`-> fallthrough`);
        printServe(s.serve);
        return;
    }
  }

  function printServe(serve: ServeTrace): void {
    if (serve.variant !== undefined) line(`-> ${serve.variant}`, 2);
    if (serve.split) printSplit(serve.split);
  }

  function printSplit(sp: SplitTrace): void {
    const weights =
      sp.weights === "base"
        ? "base weights"
        : `progressive step ${sp.weights.step + 1} (from ${sp.weights.at})`;
    const ranges = sp.ranges.map((r) => `${r.variant} [${r.from}, ${r.to})`).join("  ");
    if (sp.bucket === undefined) {
      line(`${ok(false)} split by ${sp.by}: no value to bucket (${weights}: ${ranges})`, 2);
      return;
    }
    line(
      `split by ${sp.by} ${JSON.stringify(sp.bucketKey)}, salt ${JSON.stringify(sp.salt)}: bucket ${sp.bucket} of ${sp.totalWeight} -> ${sp.variant}`,
      2,
    );
    line(`${weights}: ${ranges}`, 3);
  }
}
