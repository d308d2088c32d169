/**
 * `edgeflags diff FILE`: what publishing FILE would change against the live snapshot, flag by flag
 * with the changed fields and their old and new values. I/O: reads the file and the live snapshot.
 */
import type { FlagsDocument } from "../../flags/types";
import type { CliOptions } from "../config";
import { changedFields, diffDocuments, isEmpty, preview } from "../diff";
import { CliError, EXIT, type Output } from "../output";
import { readFlagsSource } from "../source";
import { type CommandContext, openSession } from "./context";
import { readLive } from "./release";
import { printProblems } from "./validate";

export interface DiffOptions extends CliOptions {
  exitCode?: boolean;
}

/** Prints a human diff: `+` added, `-` removed, `~` changed with `field: old -> new` lines. */
export function printDiff(out: Output, before: FlagsDocument | undefined, after: FlagsDocument): void {
  const c = diffDocuments(before, after);
  for (const key of c.added) out.line(out.paint("green", `+ flag ${key}`));
  for (const key of c.removed) out.line(out.paint("red", `- flag ${key}`));
  for (const { flag, fields } of c.changed) {
    out.line(out.paint("yellow", `~ flag ${flag}`));
    const old = (before?.flags[flag] ?? {}) as unknown as Record<string, unknown>;
    const now = after.flags[flag] as unknown as Record<string, unknown>;
    for (const f of fields) out.line(`    ${f}: ${preview(old[f])} -> ${preview(now[f])}`);
  }
  const s = c.segments;
  if (s) {
    for (const key of s.added) out.line(out.paint("green", `+ segment ${key}`));
    for (const key of s.removed) out.line(out.paint("red", `- segment ${key}`));
    for (const key of s.changed) {
      const fields = changedFields(before?.segments?.[key] ?? {}, after.segments?.[key] ?? {});
      out.line(out.paint("yellow", `~ segment ${key} (${fields.join(", ")})`));
    }
  }
}

export async function diffCommand(file: string, options: DiffOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const source = readFlagsSource(file, ctx.io.cwd);
  if (!source.document) {
    printProblems(out, source.problems);
    throw new CliError(
      EXIT.problems,
      `${file} has ${source.problems.length} problem(s); run \`edgeflags validate ${file}\``,
    );
  }
  const session = await openSession(ctx, options, "if-set");
  try {
    const live = await readLive(session, out);
    const changes = diffDocuments(live.payload?.flags, source.document);
    const changed = !isEmpty(changes);
    out.result({
      ok: true,
      environment: session.settings.environment,
      liveVersion: live.payload?.version ?? null,
      changed,
      changes,
    });
    const against = live.payload
      ? `version ${live.payload.version} live on ${session.target.where}`
      : `${session.target.where} (nothing published yet)`;
    out.line(out.paint("bold", `${file} against ${against}:`));
    if (changed) printDiff(out, live.payload?.flags, source.document);
    else out.line("no changes");
    return changed && options.exitCode ? EXIT.problems : EXIT.ok;
  } finally {
    await session.target.close();
  }
}
