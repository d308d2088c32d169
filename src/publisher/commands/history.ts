/**
 * `edgeflags history`: recent publishes from the audit trail next to the snapshots - version, when,
 * who, message, and what changed with its direction (`enabled: true -> false`) - each checked against
 * the signed snapshot of its version; what cannot be checked is shown as UNVERIFIED with the reason,
 * never as a publish. `--flag` and `--since` filter here, on what the target returns (its newest 100
 * records at most). Guard trips the worker recorded follow (when a worker URL and token are set).
 * I/O: the target, the worker's GET /v1/guards.
 */
import type { ChangeSummary } from "../../snapshot/format";
import type { CliOptions } from "../config";
import { readGuards, tripLine } from "../guard-state";
import { CliError, EXIT, type Output } from "../output";
import { hasDirections, limitLines, type RenderCollection, renderDiff, summaryView } from "../render-diff";
import type { HistoryRecord } from "../targets/target";
import { type CommandContext, openSession } from "./context";

export interface HistoryOptions extends CliOptions {
  limit?: string;
  flag?: string;
  since?: string;
}

/** The most records a target returns at once (the worker's GET /v1/snapshot/history limit). */
const MAX_RECORDS = 100;
/** Lines of changes printed per version; `--json` has them all. */
const LINES_PER_RECORD = 12;
const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `--since`: a duration back from `now` (`90m`, `12h`, `7d`, `2w`) or a date (`2026-11-01`, midnight
 * UTC) or an ISO 8601 instant; epoch ms.
 */
export function parseSince(text: string, now: number): number {
  const t = text.trim();
  const rel = /^(\d+)\s*([mhdw])$/.exec(t);
  if (rel) return now - Number(rel[1]) * (UNITS[rel[2] as string] as number) * 1000;
  const at = /^\d{4}-\d{2}-\d{2}([T ].+)?$/.test(t) ? Date.parse(t) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new CliError(
      EXIT.usage,
      `--since takes a duration like 7d, 12h or 2w, or a date like 2026-11-01, got "${text}"`,
    );
  }
  return at;
}

/** Whether a change summary names `flag` as added, removed or changed. */
export function touches(changes: ChangeSummary | null | undefined, flag: string): boolean {
  if (!changes) return false;
  return (
    changes.added.includes(flag) ||
    changes.removed.includes(flag) ||
    changes.changed.some((c) => c.flag === flag)
  );
}

/**
 * The records (newest first) that touch `flag` and were issued from `since` on. Versions only go up
 * with time, so the list ends at the first verified record older than `since`. Records that do not
 * verify are kept inside that window whatever the flag: nobody can say what they changed.
 */
export function filterHistory(
  records: HistoryRecord[],
  filter: { flag?: string; since?: number },
): HistoryRecord[] {
  const kept: HistoryRecord[] = [];
  for (const r of records) {
    if (r.verified === false) {
      kept.push(r);
      continue;
    }
    if (filter.since !== undefined && Date.parse(r.issuedAt) < filter.since) break;
    if (filter.flag === undefined || touches(r.changes, filter.flag)) kept.push(r);
  }
  return kept;
}

/** A record's changes for people; when filtering by flag, only that flag's, naming the others. */
function changeLines(out: Output, changes: ChangeSummary, flag: string | undefined): string[] {
  // Recorded before directions were: its one-line summary is all there is.
  if (!hasDirections(changes)) return [changes.text];
  const view = summaryView(changes);
  const others: string[] = [];
  if (flag !== undefined) {
    const keys = (c: RenderCollection | undefined, label = "") =>
      c ? [...c.added, ...c.removed, ...c.changed.map((e) => e.key)].map((k) => `${label}${k}`) : [];
    others.push(...keys(view.flags).filter((k) => k !== flag), ...keys(view.segments, "segment "));
    others.push(...keys(view.gates, "gate "));
    view.flags = {
      added: view.flags.added.filter((k) => k === flag),
      removed: view.flags.removed.filter((k) => k === flag),
      changed: view.flags.changed.filter((e) => e.key === flag),
    };
    view.segments = undefined;
    view.gates = undefined;
  }
  const lines = renderDiff(view, (style, text) => out.paint(style, text));
  if (lines.length === 0) lines.push(changes.text);
  const limited = limitLines(lines, LINES_PER_RECORD, (n) =>
    out.paint("dim", `... ${n} more line(s) (--json has them)`),
  );
  if (others.length > 0) {
    const named =
      others.length <= 3 ? others.join(", ") : `${others.slice(0, 3).join(", ")}, +${others.length - 3} more`;
    limited.push(out.paint("dim", `(also changed: ${named})`));
  }
  return limited;
}

export async function historyCommand(options: HistoryOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const limit = Number(options.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECORDS) {
    throw new CliError(EXIT.usage, `--limit takes a number from 1 to ${MAX_RECORDS}, got "${options.limit}"`);
  }
  const flag = options.flag;
  if (flag !== undefined && flag.trim() === "") throw new CliError(EXIT.usage, "--flag takes a flag key");
  const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
  const filtered = flag !== undefined || since !== undefined;
  // The direct-KV targets check records with this publisher's keys: the signing key's, when set.
  const session = await openSession(ctx, options, "if-set");
  try {
    // Filtering happens here, on the newest records the target returns.
    const scanned = await session.target.history(filtered ? MAX_RECORDS : limit);
    const records = filterHistory(scanned, {
      ...(flag !== undefined ? { flag } : {}),
      ...(since !== undefined ? { since } : {}),
    }).slice(0, limit);
    // Guard trips (the aggregator keeps the recent ones), shown next to the publishes.
    const guards = await readGuards(
      session.settings.url,
      session.settings.statsToken ?? session.settings.publishToken,
    );
    const trips = (guards.error === undefined ? guards.history : [])
      .filter(
        (t) => (flag === undefined || t.flag === flag) && (since === undefined || Date.parse(t.at) >= since),
      )
      .reverse();
    out.result({
      ok: true,
      environment: session.settings.environment,
      ...(filtered
        ? {
            filter: { flag: flag ?? null, since: since === undefined ? null : new Date(since).toISOString() },
            scanned: scanned.length,
          }
        : {}),
      records,
      guardTrips: guards.error === undefined ? trips : { error: guards.error },
    });
    if (records.length === 0) {
      out.line(
        filtered
          ? `no publishes match on ${session.target.where} (searched the newest ${scanned.length})`
          : `no publishes recorded on ${session.target.where}`,
      );
    }
    for (const r of records) {
      const version = out.paint("bold", `v${r.version}`);
      if (r.verified === false) {
        out.line(`${version}  ${out.paint(["bold", "red"], "UNVERIFIED")}  ${r.reason}`);
        continue;
      }
      const head = `${version}  ${r.issuedAt}  ${r.actor ?? "(unknown)"}`;
      out.line(r.message ? `${head}  ${out.paint("cyan", r.message)}` : head);
      if (r.breakGlass) {
        out.line(`    ${out.paint(["bold", "red"], "break-glass")} by ${r.kid}: ${r.breakGlass}`);
      }
      const lines = r.changes ? changeLines(out, r.changes, flag) : ["(no change summary)"];
      for (const line of lines) out.line(`    ${line}`);
      if (r.reason) out.line(`    ${out.paint("yellow", `note: ${r.reason}`)}`);
    }
    if (trips.length > 0) {
      out.line(out.paint("bold", "guard trips:"));
      for (const t of trips)
        out.line(`  v${t.version}  ${out.paint(["bold", "red"], "TRIPPED")} ${tripLine(t)}`);
    }
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
