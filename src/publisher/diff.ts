/**
 * What changed between two flags documents: flags added, removed and changed (with the fields that
 * differ), and segments. The summary is signed into each snapshot's audit block. Pure, no I/O.
 */
import { splitEntries } from "../flags/defaults";
import { isMap } from "../flags/json-value";
import type { FlagDefinition, FlagsDocument, SplitWeights } from "../flags/types";
import type { ChangeSummary } from "../snapshot/format";

/** JSON with object keys sorted, so key order in the flags file never counts as a change. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** Top-level fields whose values differ between two definitions. */
export function changedFields(before: object, after: object): string[] {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return sorted(new Set([...Object.keys(b), ...Object.keys(a)])).filter((f) => !same(b[f], a[f]));
}

/** A split (or progressive split) with its weights as ordered entries; anything else as it is. */
function orderedSplit(serve: unknown): unknown {
  if (!isMap(serve) || !(isMap(serve.split) || Array.isArray(serve.split))) return serve;
  const out: Record<string, unknown> = { ...serve, split: splitEntries(serve.split as SplitWeights) };
  if (Array.isArray(serve.steps)) out.steps = serve.steps.map(orderedSplit);
  return out;
}

/**
 * A flag as diff compares it: the order of a split's variants decides who gets which, so every split
 * becomes a list of entries, which canonicalJson (sorting map keys) keeps in order. A map and a list
 * in the same order are the same split.
 */
function comparable(flag: FlagDefinition): object {
  if (!isMap(flag)) return flag;
  const rules = Array.isArray(flag.rules)
    ? flag.rules.map((r) => (isMap(r) ? { ...r, serve: orderedSplit(r.serve) } : r))
    : flag.rules;
  return { ...flag, rules, fallthrough: orderedSplit(flag.fallthrough) };
}

function compareMaps<T extends object>(
  before: Record<string, T>,
  after: Record<string, T>,
  view: (value: T) => object = (value) => value,
) {
  const added = sorted(Object.keys(after).filter((k) => !(k in before)));
  const removed = sorted(Object.keys(before).filter((k) => !(k in after)));
  const changed = sorted(Object.keys(after).filter((k) => k in before))
    .map((k) => ({ key: k, fields: changedFields(view(before[k] as T), view(after[k] as T)) }))
    .filter((c) => c.fields.length > 0);
  return { added, removed, changed };
}

/** The change summary from `before` (nothing live: undefined) to `after`. */
export function diffDocuments(before: FlagsDocument | undefined, after: FlagsDocument): ChangeSummary {
  const flags = compareMaps(before?.flags ?? {}, after.flags, comparable);
  const segs = compareMaps(before?.segments ?? {}, after.segments ?? {});
  const summary: ChangeSummary = {
    added: flags.added,
    removed: flags.removed,
    changed: flags.changed.map((c) => ({ flag: c.key, fields: c.fields })),
    text: "",
  };
  const segmentsChanged = segs.changed.map((c) => c.key);
  if (segs.added.length + segs.removed.length + segmentsChanged.length > 0) {
    summary.segments = { added: segs.added, removed: segs.removed, changed: segmentsChanged };
  }
  summary.text = summaryText(summary);
  return summary;
}

/** True when a summary records no change at all. */
export function isEmpty(c: ChangeSummary): boolean {
  const s = c.segments;
  return (
    c.added.length + c.removed.length + c.changed.length === 0 &&
    (!s || s.added.length + s.removed.length + s.changed.length === 0)
  );
}

function listed(xs: string[], max = 3): string {
  return xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")}, +${xs.length - max} more`;
}

/** One line, e.g. "1 added (beta), 1 changed (demo-flag: enabled)". */
export function summaryText(c: ChangeSummary): string {
  if (isEmpty(c)) return "no changes";
  const parts: string[] = [];
  if (c.added.length) parts.push(`${c.added.length} added (${listed(c.added)})`);
  if (c.removed.length) parts.push(`${c.removed.length} removed (${listed(c.removed)})`);
  if (c.changed.length) {
    const items = c.changed.map((x) => `${x.flag}: ${x.fields.join("/")}`);
    parts.push(`${c.changed.length} changed (${listed(items)})`);
  }
  const s = c.segments;
  if (s) {
    const n = s.added.length + s.removed.length + s.changed.length;
    if (n) parts.push(`${n} segment${n === 1 ? "" : "s"} changed`);
  }
  return parts.join(", ");
}

/** A short rendering of a field value for people: compact JSON, cut at `max` characters. */
export function preview(value: unknown, max = 60): string {
  if (value === undefined) return "(unset)";
  const text = JSON.stringify(value) ?? "null";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
