/**
 * `edgeflags diff FILE`: what publishing FILE would change against the live snapshot - flags,
 * segments and gates, each change with its path and its old and new value (`--json`: in full;
 * `--format github`: a notice on the file's line for each). I/O: reads the file and the live snapshot.
 */
import type { CliOptions } from "../config";
import { type DocumentDiff, diffFlags, isEmptyDiff, summarize } from "../diff";
import { diffNotes } from "../diff-places";
import { EXIT, type Output } from "../output";
import { renderDiff } from "../render-diff";
import { type CommandContext, openSession } from "./context";
import { readLive } from "./release";
import { readValidSource } from "./validate";

export interface DiffOptions extends CliOptions {
  exitCode?: boolean;
}

/** Prints a diff for people: `+` added, `-` removed, `~` changed with `path: old -> new` lines. */
export function printDiff(out: Output, diff: DocumentDiff): void {
  for (const line of renderDiff(diff, (style, text) => out.paint(style, text))) out.line(line);
}

export async function diffCommand(file: string, options: DiffOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const source = readValidSource(out, file, ctx.io.cwd, `run \`edgeflags validate ${file}\``);
  const session = await openSession(ctx, options, "if-set");
  try {
    const live = await readLive(session, out);
    const diff = diffFlags(live.payload?.flags, source.document);
    const changed = !isEmptyDiff(diff);
    out.result({
      ok: true,
      environment: session.settings.environment,
      liveVersion: live.payload?.version ?? null,
      changed,
      // What a publish would sign into its audit block (long values cut), then every change in full.
      changes: summarize(diff),
      diff,
    });
    const against = live.payload
      ? `version ${live.payload.version} live on ${session.target.where}`
      : `${session.target.where} (nothing published yet)`;
    out.line(out.paint("bold", `${file} against ${against}:`));
    if (!changed) out.line("no changes");
    else if (!out.github) printDiff(out, diff);
    else {
      const notes = diffNotes(source.text, source.document, diff);
      for (const n of notes) {
        const title = `edgeflags diff (${n.what} ${n.change})`;
        out.annotate("notice", n.message, { file, line: n.line, column: n.column, title });
      }
      const counts = (["flag", "segment", "gate"] as const)
        .map((what) => [what, notes.filter((n) => n.what === what).length] as const)
        .filter(([, n]) => n > 0)
        .map(([what, n]) => `${n} ${what}${n === 1 ? "" : "s"}`);
      out.line(`${counts.join(", ")} would change`);
    }
    return changed && options.exitCode ? EXIT.problems : EXIT.ok;
  } finally {
    await session.target.close();
  }
}
