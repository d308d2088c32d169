/**
 * One flag's history from the audit trail: the versions that added, removed or changed it, each with
 * who, when, why and its changes (`path: before -> after`). The changes are the ones the publisher
 * computed against the version before (src/publisher/diff.ts) and signed into each snapshot's audit
 * block, so the worker neither re-diffs snapshots nor carries the publisher's YAML renderer. Pure.
 */
import { html } from "hono/html";
import type { HistoryEntry } from "../snapshot/audit";
import type { FieldChange } from "../snapshot/format";
import type { Html } from "./layout";

export interface FlagVersion {
  version: number;
  issuedAt: string;
  actor: string | null;
  message: string | null;
  change: "added" | "removed" | "changed";
  /** Top-level fields changed (always there for `changed`). */
  fields: string[];
  /** Each change, when the record has them. */
  changes?: FieldChange[];
  /** Changes the audit block left out to stay small. */
  omitted?: number;
  /** The version before this one in the trail: what a rollback to before this change restores. */
  previous?: number;
}

/** The entries of `history` (newest first) that touch `key`, newest first. */
export function flagHistory(history: HistoryEntry[], key: string): FlagVersion[] {
  const out: FlagVersion[] = [];
  for (const [i, e] of history.entries()) {
    if (!e.verified || !e.changes) continue;
    const previous = history[i + 1]?.version;
    const base = {
      version: e.version,
      issuedAt: e.issuedAt,
      actor: e.actor,
      message: e.message,
      ...(previous === undefined ? {} : { previous }),
    };
    const changed = e.changes.changed.find((c) => c.flag === key);
    if (e.changes.added.includes(key)) out.push({ ...base, change: "added", fields: [] });
    else if (e.changes.removed.includes(key)) out.push({ ...base, change: "removed", fields: [] });
    else if (changed) {
      out.push({
        ...base,
        change: "changed",
        fields: changed.fields,
        ...(changed.changes ? { changes: changed.changes } : {}),
        ...(changed.omitted ? { omitted: changed.omitted } : {}),
      });
    }
  }
  return out;
}

/** A change's side as short text: compact JSON, or a cut side's start as the audit block holds it. */
function side(c: FieldChange, which: "before" | "after"): string {
  const value = c[which];
  if (c.cut?.includes(which)) return String(value);
  return JSON.stringify(value) ?? "null";
}

function changeLine(c: FieldChange): Html {
  const has = (s: "before" | "after") => Object.hasOwn(c, s) && c[s] !== undefined;
  if (!has("before")) return html`<li><code>${c.path}</code>: added <ins>${side(c, "after")}</ins></li>`;
  if (!has("after")) return html`<li><code>${c.path}</code>: removed <del>${side(c, "before")}</del></li>`;
  return html`<li><code>${c.path}</code>: <del>${side(c, "before")}</del> → <ins>${side(c, "after")}</ins></li>`;
}

/** The history section's list, or a line saying there is none in the versions read. */
export function historyList(versions: FlagVersion[], read: number): Html {
  if (versions.length === 0) {
    return html`<p class="muted">No change to this flag in the last ${read} version${read === 1 ? "" : "s"} of the audit trail.</p>`;
  }
  return html`<ol class="history">${versions.map(
    (
      v,
    ) => html`<li><strong>Version ${v.version}</strong> · ${v.change} · <time datetime="${v.issuedAt}">${v.issuedAt.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}</time> · ${v.actor ?? "unknown publisher"}
${v.message ? html`<div class="muted">“${v.message}”</div>` : ""}
${
  v.changes
    ? html`<ul class="diff">${v.changes.map(changeLine)}${v.omitted ? html`<li class="muted">+${v.omitted} more change${v.omitted === 1 ? "" : "s"} not recorded</li>` : ""}</ul>`
    : v.fields.length > 0
      ? html`<div>fields: ${v.fields.join(", ")}</div>`
      : ""
}</li>`,
  )}</ol>`;
}
