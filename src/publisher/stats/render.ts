/**
 * How `edgeflags stats` shows counts: a sparkline per variant on a terminal, plain tables otherwise.
 * Pure: strings in, strings out.
 */
import type { FlagStats, StatsAnswer, VariantStats } from "../../observe/types";

const MINUTE_MS = 60_000;
const BARS = "▁▂▃▄▅▆▇█";
/**
 * Most columns of a sparkline: the default hour (61 minutes, both ends included) gets a column a
 * minute; longer ranges add minutes per column (24 h: 21 minutes a column).
 */
export const SPARK_WIDTH = 72;

/** One count per minute from `from` to `to` (ISO minutes, inclusive), zeros where none was counted. */
export function perMinute(points: [string, number][], from: string, to: string): number[] {
  const start = Date.parse(from);
  const n = Math.max(1, Math.round((Date.parse(to) - start) / MINUTE_MS) + 1);
  const out = new Array<number>(n).fill(0);
  for (const [at, count] of points) {
    const i = Math.round((Date.parse(at) - start) / MINUTE_MS);
    if (i >= 0 && i < n) out[i] = (out[i] as number) + count;
  }
  return out;
}

/** `values` summed into at most `width` columns of equal minutes (the newest column may hold fewer). */
export function columns(values: number[], width = SPARK_WIDTH): { values: number[]; minutes: number } {
  const minutes = Math.max(1, Math.ceil(values.length / width));
  const out: number[] = [];
  for (let i = 0; i < values.length; i += minutes) {
    out.push(values.slice(i, i + minutes).reduce((a, b) => a + b, 0));
  }
  return { values: out, minutes };
}

/** A sparkline: a space for nothing counted, else one of eight bars scaled to the largest value. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (v <= 0 ? " " : BARS[Math.min(7, Math.ceil((v / max) * 8) - 1)])).join("");
}

/** 1234567 -> "1,234,567". */
export const num = (n: number) => n.toLocaleString("en-US");

/** `TARGETING_MATCH 12, SPLIT 3`, largest first. */
export function reasonsText(v: VariantStats): string {
  return Object.entries(v.reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${num(n)}`)
    .join(", ");
}

/** "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

const variantName = (v: VariantStats) => v.variant ?? "(error)";

/** The outcome event name that makes the `errors` column and the error rate. */
export const ERROR_EVENT = "error";

/** `error` outcome events attributed to the variant (0 for none; `outcomes` absent from older workers). */
export const errorsOf = (v: VariantStats) => v.outcomes?.[ERROR_EVENT] ?? 0;

/** Errors per served evaluation of the variant, as a percentage with one decimal, "-" with none served. */
export function errorRate(v: VariantStats): string {
  return v.total > 0 ? `${((errorsOf(v) / v.total) * 100).toFixed(1)}%` : "-";
}

/** Outcome events other than errors: `conversion=3,signup=1`, or "-". */
export function otherEvents(v: VariantStats): string {
  const other = Object.entries(v.outcomes ?? {}).filter(([e]) => e !== ERROR_EVENT);
  return other.length === 0 ? "-" : other.map(([e, n]) => `${e}=${n}`).join(",");
}

function lastEvaluated(f: FlagStats, now: number): string {
  return f.lastEvaluated ? `${f.lastEvaluated} (${ago(f.lastEvaluated, now)})` : "never (in 400 days)";
}

/** Lines for a terminal: per flag its last evaluation, per variant its total, sparkline and reasons. */
export function sparkLines(
  answer: StatsAnswer,
  now: number,
  paint: (s: "dim" | "bold", t: string) => string,
) {
  const lines: string[] = [];
  let minutes = 1;
  for (const f of answer.flags) {
    lines.push(`${paint("bold", f.key)}  ${paint("dim", `last evaluated ${lastEvaluated(f, now)}`)}`);
    if (f.variants.length === 0) lines.push(`  ${paint("dim", "no evaluations in this range")}`);
    const width = Math.max(...f.variants.map((v) => variantName(v).length), 0);
    const totals = Math.max(...f.variants.map((v) => num(v.total).length), 0);
    for (const v of f.variants) {
      const cols = columns(perMinute(v.points, answer.from, answer.to));
      minutes = cols.minutes;
      const outcomes = Object.keys(v.outcomes ?? {}).length > 0;
      const events = otherEvents(v);
      const tail = outcomes
        ? `  errors ${num(errorsOf(v))} (${errorRate(v)})${events === "-" ? "" : `, ${events.replaceAll("=", " ")}`}`
        : "";
      lines.push(
        `  ${variantName(v).padEnd(width)}  ${num(v.total).padStart(totals)}  ${sparkline(cols.values)}  ${paint("dim", reasonsText(v))}${tail}`,
      );
    }
  }
  lines.push(paint("dim", `one column = ${minutes} minute(s), ${answer.from} to ${answer.to}`));
  return lines;
}

/** A table: a header row and rows, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * The summary table: one row per flag and variant, with the outcome events the worker attributed to
 * the variant: `error` events and their rate per served evaluation, then the other events.
 */
export function summaryTable(answer: StatsAnswer): string[] {
  const rows: string[][] = [];
  for (const f of answer.flags) {
    if (f.variants.length === 0) rows.push([f.key, "-", "0", "0", "-", "-", "-", f.lastEvaluated ?? "never"]);
    for (const v of f.variants) {
      const reasons = Object.entries(v.reasons)
        .map(([r, n]) => `${r}=${n}`)
        .join(",");
      rows.push([
        f.key,
        variantName(v),
        String(v.total),
        String(errorsOf(v)),
        errorRate(v),
        otherEvents(v),
        reasons || "-",
        f.lastEvaluated ?? "never",
      ]);
    }
  }
  return table(
    ["flag", "variant", "total", "errors", "error_rate", "events", "reasons", "last_evaluated"],
    rows,
  );
}

/** Per-minute evaluation counts over time, one row per minute and variant that counted anything. */
export function minuteTable(answer: StatsAnswer): string[] {
  const rows: string[][] = [];
  for (const f of answer.flags) {
    for (const v of f.variants) {
      for (const [at, n] of v.points) rows.push([at, f.key, variantName(v), String(n)]);
    }
  }
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return table(["minute", "flag", "variant", "count"], rows);
}
