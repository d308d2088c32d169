/**
 * Diffs for people: `+ key`, `- key`, and `~ key` followed by one line per change,
 * `path: before -> after`, values as compact YAML (scalars and short lists inline; anything longer as
 * an indented block of `-` and `+` lines), coloured through the caller's `paint` on a terminal and
 * plain otherwise. Used by diff, publish, rollback, kill and history. Pure, no I/O.
 */
import { stringify } from "yaml";
import type { ChangeSummary, CollectionSummary, FieldChange } from "../snapshot/format";

export type Paint = (style: "red" | "green" | "yellow" | "dim", text: string) => string;
const plain: Paint = (_style, text) => text;

/** One changed flag, segment or gate; `changes` absent when its record predates them. */
export interface RenderEntry {
  key: string;
  fields: string[];
  changes?: FieldChange[];
  omitted?: number;
}
export interface RenderCollection {
  added: string[];
  removed: string[];
  changed: RenderEntry[];
}
/** What `renderDiff` shows: a full diff (DocumentDiff) or a signed summary (`summaryView`). */
export interface RenderInput {
  flags: RenderCollection;
  segments?: RenderCollection | undefined;
  gates?: RenderCollection | undefined;
}

/** Longest value shown on the `path: before -> after` line; longer ones get a block. */
const INLINE_MAX = 60;

/** `value` as one line of flow YAML of at most `max` characters, or undefined when it does not fit. */
export function inlineValue(value: unknown, max = INLINE_MAX): string | undefined {
  if (value === undefined) return "(unset)";
  const text = stringify(value, { collectionStyle: "flow", flowCollectionPadding: false, lineWidth: 0 });
  const line = text.trimEnd();
  return line.length <= max && !line.includes("\n") ? line : undefined;
}

const other = (side: "before" | "after") => (side === "before" ? "after" : "before");
const blockLines = (value: unknown) => stringify(value, { lineWidth: 0 }).trimEnd().split("\n");

/** The lines of one change, unindented: one line when both sides fit, else a header and a block. */
export function changeLines(c: FieldChange, paint: Paint = plain): string[] {
  const cut = new Set(c.cut ?? []);
  const has = (side: "before" | "after") => c[side] !== undefined;
  // A cut side holds the start of its JSON text, shown as it is.
  const inline = (side: "before" | "after") => (cut.has(side) ? String(c[side]) : inlineValue(c[side]));
  const [before, after] = [inline("before"), inline("after")];
  // A whole rule, gate or map added or removed reads better as a block than as `(unset) -> {...}`.
  const whole = (side: "before" | "after") =>
    !has(side) && typeof c[other(side)] === "object" && c[other(side)] !== null;
  if (before !== undefined && after !== undefined && !whole("before") && !whole("after")) {
    return [`${c.path}: ${paint("red", before)} -> ${paint("green", after)}`];
  }
  const lines = [!has("before") ? `${c.path}: added` : !has("after") ? `${c.path}: removed` : `${c.path}:`];
  for (const [side, mark, style] of [
    ["before", "-", "red"],
    ["after", "+", "green"],
  ] as const) {
    if (!has(side)) continue;
    const body = cut.has(side) ? [String(c[side])] : blockLines(c[side]);
    for (const line of body) lines.push(`  ${paint(style, `${mark} ${line}`)}`);
  }
  return lines;
}

/** Every line of a diff: flags, then segments and gates (named so), each added, removed, changed. */
export function renderDiff(d: RenderInput, paint: Paint = plain): string[] {
  const lines: string[] = [];
  for (const [label, c] of [
    ["", d.flags],
    ["segment ", d.segments],
    ["gate ", d.gates],
  ] as const) {
    if (!c) continue;
    for (const key of c.added) lines.push(paint("green", `+ ${label}${key}`));
    for (const key of c.removed) lines.push(paint("red", `- ${label}${key}`));
    for (const e of c.changed) {
      // Without recorded changes (older snapshots), the changed fields are all there is.
      const fields = e.changes === undefined && e.fields.length > 0 ? ` (${e.fields.join(", ")})` : "";
      lines.push(paint("yellow", `~ ${label}${e.key}${fields}`));
      for (const change of e.changes ?? []) {
        for (const line of changeLines(change, paint)) lines.push(`    ${line}`);
      }
      if (e.omitted) {
        lines.push(`    ${paint("dim", `... ${e.omitted} more change(s), too many to record`)}`);
      }
    }
  }
  return lines;
}

/** A signed change summary as `renderDiff` input (summaries of any age). */
export function summaryView(c: ChangeSummary): RenderInput {
  const recorded = (e: { changes?: unknown; omitted?: number }) =>
    Array.isArray(e.changes)
      ? { changes: e.changes as FieldChange[], ...(e.omitted ? { omitted: e.omitted } : {}) }
      : {};
  const collection = (s: CollectionSummary | undefined): RenderCollection | undefined =>
    s && {
      added: s.added,
      removed: s.removed,
      changed: s.changed.map((key) => {
        const entry = s.changes?.find((x) => x.key === key);
        return { key, fields: [], ...(entry ? recorded(entry) : {}) };
      }),
    };
  return {
    flags: {
      added: c.added,
      removed: c.removed,
      changed: c.changed.map((e) => ({ key: e.flag, fields: e.fields, ...recorded(e) })),
    },
    segments: collection(c.segments),
    gates: collection(c.gates),
  };
}

/** Whether a summary records the direction of its changes (snapshots published before did not). */
export function hasDirections(c: ChangeSummary): boolean {
  return c.changed.every((e) => Array.isArray(e.changes));
}

/** At most `max` lines, then one saying how many more (`more(n)`). */
export function limitLines(lines: string[], max: number, more: (n: number) => string): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), more(lines.length - max)];
}

/** Where printed lines go; the CLI's Output satisfies it. */
export interface LineSink {
  line(text: string): void;
  paint(style: "red" | "green" | "yellow" | "dim", text: string): string;
}

/**
 * Prints a signed change summary under a command's report (publish, rollback, kill): the changes
 * with their direction, indented, at most `max` lines. Old summaries without directions print as
 * recorded (`~ flag (fields)`).
 */
export function printSummary(out: LineSink, c: ChangeSummary, max = 20, indent = "  "): void {
  const lines = renderDiff(summaryView(c), (style, text) => out.paint(style, text));
  const more = (n: number) => out.paint("dim", `... ${n} more line(s); edgeflags history --json has them`);
  for (const line of limitLines(lines, max, more)) out.line(`${indent}${line}`);
}
