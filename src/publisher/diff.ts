/**
 * What changed between two flags documents, field by field with the value before and after: flags,
 * segments and gates, down to nested paths (`rules[eu-only].serve.split.on`), and the bounded summary
 * of it signed into each snapshot's audit block. Own code rather than a generic diff library: the
 * shapes are known, and the two rules that matter here (list items by `id`, splits by variant and in
 * order) are exactly what a generic one gets wrong. Pure, no I/O.
 */
import { isMap } from "../flags/json-value";
import type { FlagsDocument } from "../flags/types";
import type { ChangeSummary, CollectionSummary, FieldChange } from "../snapshot/format";
import { inlineValue } from "./render-diff";

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

/** One flag, segment or gate present on both sides, with every change (full values). */
export interface ChangedEntry {
  key: string;
  /** Top-level fields that differ (what older summaries recorded). */
  fields: string[];
  changes: FieldChange[];
}

export interface CollectionDiff {
  added: string[];
  removed: string[];
  changed: ChangedEntry[];
}

/** The whole difference between two documents, values in full (the audit summary bounds them). */
export interface DocumentDiff {
  flags: CollectionDiff;
  segments: CollectionDiff;
  gates: CollectionDiff;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
const sorted = (xs: Iterable<string>) => [...xs].sort();
const PLAIN = /^[A-Za-z0-9_-]+$/;

const fieldPath = (path: string, key: string) =>
  PLAIN.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
const itemPath = (path: string, id: string | number) =>
  typeof id === "number" || (PLAIN.test(id) && !/^\d+$/.test(id))
    ? `${path}[${id}]`
    : `${path}[${JSON.stringify(id)}]`;

function change(path: string, before: unknown, after: unknown): FieldChange {
  return {
    path,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

type Emit = (change: FieldChange) => void;

/** A split's weights as ordered [variant, weight] pairs, or undefined when `value` is not one. */
function splitPairs(value: unknown): [string, unknown][] | undefined {
  if (isMap(value)) return Object.entries(value);
  if (!Array.isArray(value) || !value.every((e) => isMap(e) && typeof e.variant === "string")) return;
  return value.map((e) => [e.variant as string, e.weight]);
}

/** The ids of a list whose items are all maps with distinct string ids, else undefined. */
function listIds(list: unknown[]): string[] | undefined {
  const ids = list.map((item) => (isMap(item) && typeof item.id === "string" ? item.id : undefined));
  if (!ids.every((id) => id !== undefined)) return;
  return new Set(ids).size === ids.length ? (ids as string[]) : undefined;
}

/** Whether `after` orders the keys it shares with `before` differently, or inserts new ones among them. */
function reordered(before: string[], after: string[]): boolean {
  const kept = before.filter((k) => after.includes(k));
  const expected = [...kept, ...after.filter((k) => !before.includes(k))];
  return expected.some((k, i) => k !== after[i]);
}

/** Pairs of keyed values, in `after`'s order then what only `before` had. */
function walkKeyed(
  before: Map<string, unknown>,
  after: Map<string, unknown>,
  path: (key: string) => string,
  emit: Emit,
  splits: boolean,
): void {
  for (const [key, value] of after) walk(before.get(key), value, path(key), emit, splits);
  for (const [key, value] of before) if (!after.has(key)) walk(value, undefined, path(key), emit, splits);
}

/**
 * Emits the changes from `before` to `after` at `path`: maps field by field, lists of maps by id (or
 * by index), splits by variant (a map and a list in the same order are the same split; another order
 * is a change, since the order decides who gets which); anything else as one value.
 */
function walk(before: unknown, after: unknown, path: string, emit: Emit, splits: boolean): void {
  // No shortcut on equal JSON for maps: a split map in another key order is a change.
  if (before === undefined && after === undefined) return;
  if (before === undefined || after === undefined) {
    emit(change(path, before, after));
    return;
  }
  if (isMap(before) && isMap(after)) {
    const inner = (key: string) => splits && key !== "variants";
    for (const key of Object.keys(after)) {
      const p = fieldPath(path, key);
      const b = Object.hasOwn(before, key) ? before[key] : undefined;
      const pairs = splits && key === "split" ? [splitPairs(b), splitPairs(after[key])] : [];
      if (pairs[0] && pairs[1]) walkSplit(pairs[0], pairs[1], p, emit);
      else walk(b, after[key], p, emit, inner(key));
    }
    for (const key of Object.keys(before)) {
      if (!Object.hasOwn(after, key)) walk(before[key], undefined, fieldPath(path, key), emit, inner(key));
    }
    return;
  }
  const objects = (v: unknown) => Array.isArray(v) && v.some((item) => typeof item === "object" && item);
  if (Array.isArray(before) && Array.isArray(after) && objects(before) && objects(after)) {
    const [bIds, aIds] = [listIds(before), listIds(after)];
    if (bIds && aIds) {
      const byId = (ids: string[], list: unknown[]) => new Map(ids.map((id, i) => [id, list[i]]));
      walkKeyed(byId(bIds, before), byId(aIds, after), (id) => itemPath(path, id), emit, splits);
      if (reordered(bIds, aIds)) emit(change(`${path} (order)`, bIds, aIds));
    } else {
      for (let i = 0; i < Math.max(before.length, after.length); i++) {
        walk(before[i], after[i], itemPath(path, i), emit, splits);
      }
    }
    return;
  }
  if (!same(before, after)) emit(change(path, before, after));
}

function walkSplit(before: [string, unknown][], after: [string, unknown][], path: string, emit: Emit): void {
  walkKeyed(new Map(before), new Map(after), (variant) => fieldPath(path, variant), emit, false);
  const [b, a] = [before.map(([v]) => v), after.map(([v]) => v)];
  if (reordered(b, a)) emit(change(`${path} (order)`, b, a));
}

/** The changes between two definitions of one flag, segment or gate. */
function diffEntry(before: unknown, after: unknown, splits: boolean): Omit<ChangedEntry, "key"> {
  const changes: FieldChange[] = [];
  const fields = new Set<string>();
  walk(
    before,
    after,
    "",
    (c) => {
      changes.push(c);
      fields.add(/^[^.[ ]+/.exec(c.path)?.[0] ?? c.path);
    },
    splits,
  );
  return { fields: sorted(fields), changes };
}

function diffCollection(
  before: Map<string, unknown>,
  after: Map<string, unknown>,
  splits: boolean,
): CollectionDiff {
  const added = sorted([...after.keys()].filter((k) => !before.has(k)));
  const removed = sorted([...before.keys()].filter((k) => !after.has(k)));
  const changed = sorted([...after.keys()].filter((k) => before.has(k)))
    .map((key) => ({ key, ...diffEntry(before.get(key), after.get(key), splits) }))
    .filter((c) => c.changes.length > 0);
  return { added, removed, changed };
}

const entries = (map: Record<string, unknown> | undefined) => new Map(Object.entries(map ?? {}));
/**
 * Flags with `enabled` as it acts: unset is `true` (the default), so a kill reads `enabled: true ->
 * false` and publishing the file again `false -> true`, and writing out the default changes nothing.
 */
const flags = (map: FlagsDocument["flags"] | undefined) =>
  new Map(Object.entries(map ?? {}).map(([k, f]) => [k, isMap(f) ? { enabled: true, ...f } : f]));
/** Gates by id, default `gate-<index>` as the worker names them. */
const gates = (list: FlagsDocument["gates"]) =>
  new Map((list ?? []).map((gate, i) => [gate.id ?? `gate-${i}`, gate as unknown]));

/** Every change from `before` (nothing live: undefined) to `after`, with full values. */
export function diffFlags(before: FlagsDocument | undefined, after: FlagsDocument): DocumentDiff {
  return {
    flags: diffCollection(flags(before?.flags), flags(after.flags), true),
    segments: diffCollection(entries(before?.segments), entries(after.segments), false),
    gates: diffCollection(gates(before?.gates), gates(after.gates), false),
  };
}

/** Whether a diff holds no change at all. */
export function isEmptyDiff(d: DocumentDiff): boolean {
  return [d.flags, d.segments, d.gates].every(
    (c) => c.added.length + c.removed.length + c.changed.length === 0,
  );
}

/**
 * Bounds on what the signed audit block records: a value whose JSON is longer than `valueChars` is
 * kept as its start (`cut`); past `totalChars` of recorded changes the rest are only counted, so a
 * huge publish cannot bloat every snapshot after it.
 */
export const AUDIT_LIMITS = { valueChars: 200, previewChars: 120, totalChars: 8192 } as const;

/** The audit form of a change: long values cut to their start, with their length. */
function bounded(c: FieldChange): FieldChange {
  const out: FieldChange = { path: c.path };
  const cut: ("before" | "after")[] = [];
  for (const side of ["before", "after"] as const) {
    if (!Object.hasOwn(c, side) || c[side] === undefined) continue;
    const json = JSON.stringify(c[side]);
    if (json.length <= AUDIT_LIMITS.valueChars) {
      out[side] = c[side];
    } else {
      out[side] = `${json.slice(0, AUDIT_LIMITS.previewChars)}… (${json.length} chars)`;
      cut.push(side);
    }
  }
  return cut.length > 0 ? { ...out, cut } : out;
}

/** The change summary signed into a snapshot's audit block, from a full diff. */
export function summarize(d: DocumentDiff): ChangeSummary {
  let budget: number = AUDIT_LIMITS.totalChars;
  const record = (changes: FieldChange[]) => {
    const kept: FieldChange[] = [];
    for (const c of changes) {
      const b = bounded(c);
      const size = JSON.stringify(b).length;
      if (size > budget) break;
      budget -= size;
      kept.push(b);
    }
    const omitted = changes.length - kept.length;
    return { changes: kept, ...(omitted > 0 ? { omitted } : {}) };
  };
  const summary: Omit<ChangeSummary, "text"> = {
    added: d.flags.added,
    removed: d.flags.removed,
    changed: d.flags.changed.map((c) => ({ flag: c.key, fields: c.fields, ...record(c.changes) })),
  };
  const collection = (c: CollectionDiff): CollectionSummary | undefined =>
    c.added.length + c.removed.length + c.changed.length === 0
      ? undefined
      : {
          added: c.added,
          removed: c.removed,
          changed: c.changed.map((e) => e.key),
          changes: c.changed.map((e) => ({ key: e.key, ...record(e.changes) })),
        };
  const segments = collection(d.segments);
  const gateSummary = collection(d.gates);
  if (segments) summary.segments = segments;
  if (gateSummary) summary.gates = gateSummary;
  return { ...summary, text: summaryText({ ...summary, text: "" }) };
}

/** The change summary from `before` (nothing live: undefined) to `after`. */
export function diffDocuments(before: FlagsDocument | undefined, after: FlagsDocument): ChangeSummary {
  return summarize(diffFlags(before, after));
}

/** True when a summary records no change at all. */
export function isEmpty(c: ChangeSummary): boolean {
  const none = (s: CollectionSummary | undefined) =>
    !s || s.added.length + s.removed.length + s.changed.length === 0;
  return c.added.length + c.removed.length + c.changed.length === 0 && none(c.segments) && none(c.gates);
}

function listed(xs: string[], max = 3): string {
  return xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")}, +${xs.length - max} more`;
}

/** `enabled true -> false` when a flag's one change is short, else its changed fields. */
function changedItem(c: ChangeSummary["changed"][number]): string {
  const only = c.changes?.length === 1 && !c.omitted ? c.changes[0] : undefined;
  if (only && !only.cut) {
    const [b, a] = [inlineValue(only.before, 24), inlineValue(only.after, 24)];
    if (b !== undefined && a !== undefined) return `${c.flag}: ${only.path} ${b} -> ${a}`;
  }
  return `${c.flag}: ${c.fields.join("/")}`;
}

/** One line, e.g. "1 added (beta), 1 changed (demo-flag: enabled true -> false)". */
export function summaryText(c: ChangeSummary): string {
  if (isEmpty(c)) return "no changes";
  const parts: string[] = [];
  if (c.added.length) parts.push(`${c.added.length} added (${listed(c.added)})`);
  if (c.removed.length) parts.push(`${c.removed.length} removed (${listed(c.removed)})`);
  if (c.changed.length) parts.push(`${c.changed.length} changed (${listed(c.changed.map(changedItem))})`);
  for (const [what, s] of [
    ["segment", c.segments],
    ["gate", c.gates],
  ] as const) {
    const n = s ? s.added.length + s.removed.length + s.changed.length : 0;
    if (n) parts.push(`${n} ${what}${n === 1 ? "" : "s"} changed`);
  }
  return parts.join(", ");
}
