/**
 * `edgeflags history`: recent publishes from the audit trail next to the snapshots - version, when,
 * who, message, what changed - each checked against the signed snapshot of its version; what cannot
 * be checked is shown as UNVERIFIED with the reason, never as a publish. I/O: the target.
 */
import type { CliOptions } from "../config";
import { CliError, EXIT } from "../output";
import { type CommandContext, openSession } from "./context";

export interface HistoryOptions extends CliOptions {
  limit?: string;
}

export async function historyCommand(options: HistoryOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const limit = Number(options.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new CliError(EXIT.usage, `--limit takes a number from 1 to 100, got "${options.limit}"`);
  }
  // The direct-KV targets check records with this publisher's keys: the signing key's, when set.
  const session = await openSession(ctx, options, "if-set");
  try {
    const records = await session.target.history(limit);
    out.result({ ok: true, environment: session.settings.environment, records });
    if (records.length === 0) out.line(`no publishes recorded on ${session.target.where}`);
    for (const r of records) {
      const version = out.paint("bold", `v${r.version}`);
      if (r.verified === false) {
        out.line(`${version}  ${out.paint(["bold", "red"], "UNVERIFIED")}  ${r.reason}`);
        continue;
      }
      const head = `${version}  ${r.issuedAt}  ${r.actor ?? "(unknown)"}`;
      out.line(r.message ? `${head}  ${out.paint("cyan", r.message)}` : head);
      out.line(`    ${r.changes?.text ?? "(no change summary)"}`);
      if (r.reason) out.line(`    ${out.paint("yellow", `note: ${r.reason}`)}`);
    }
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
