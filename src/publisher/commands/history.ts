/**
 * `edgeflags history`: recent publishes from the audit trail next to the snapshots - version, when,
 * who, message, what changed. I/O: the target.
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
  const session = await openSession(ctx, options, false);
  try {
    const records = await session.target.history(limit);
    out.result({ ok: true, environment: session.settings.environment, records });
    if (records.length === 0) out.line(`no publishes recorded on ${session.target.where}`);
    for (const r of records) {
      const head = `${out.paint("bold", `v${r.version}`)}  ${r.issuedAt}  ${r.actor ?? "(unknown)"}`;
      out.line(r.message ? `${head}  ${out.paint("cyan", r.message)}` : head);
      out.line(`    ${r.changes?.text ?? "(no change summary)"}`);
    }
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
