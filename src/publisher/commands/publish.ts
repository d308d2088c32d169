/**
 * `edgeflags publish FILE`: validate, lint (errors block), compile and sign, push as the live
 * version + 1, and wait until the worker serves it, timing every step. I/O: the file, the target,
 * the worker's /healthz.
 */
import { resolveActor } from "../actor";
import type { CliOptions } from "../config";
import { expiryWarning } from "../expiry-warning";
import { CliError, EXIT } from "../output";
import { readFlagsSource } from "../source";
import { Timer } from "../timing";
import { type CommandContext, openSession } from "./context";
import { findingJson, lintSource, printFindings } from "./lint";
import { release, releaseJson, reportRelease } from "./release";
import { printProblems, problemJson } from "./validate";

export interface PublishOptions extends CliOptions {
  message?: string;
  wait?: boolean;
  expiresIn?: string;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90m", "12h", "30d" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) {
    throw new CliError(EXIT.usage, `--expires-in takes a duration like 90m, 12h, 30d or 2w, got "${text}"`);
  }
  return Number(m[1]) * (UNITS[m[2] as string] as number) * 1000;
}

export async function publishCommand(
  file: string,
  options: PublishOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  const expiresMs = options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn);
  const expiryNote = expiresMs === undefined ? undefined : expiryWarning(expiresMs);
  if (expiryNote) out.warning(expiryNote);
  const source = readFlagsSource(file, ctx.io.cwd);
  if (!source.document) {
    out.result({ ok: false, file, problems: source.problems.map(problemJson) });
    printProblems(out, source.problems);
    throw new CliError(
      EXIT.problems,
      `${file} has ${source.problems.length} problem(s): nothing was published`,
    );
  }
  timer.mark("validate");
  const findings = lintSource(source, Date.now());
  const errors = findings.filter((f) => f.severity === "error");
  printFindings(out, findings);
  if (errors.length > 0) {
    out.result({ ok: false, file, findings: findings.map(findingJson) });
    throw new CliError(EXIT.problems, `${errors.length} lint error(s) in ${file}: nothing was published`);
  }
  timer.mark("lint");

  const session = await openSession(ctx, options, true);
  try {
    const result = await release(
      session,
      {
        flags: source.document,
        sourceDigest: source.digest,
        actor: resolveActor(session.settings.actor, ctx.io.cwd),
        message: options.message,
        expiresAt: expiresMs === undefined ? undefined : new Date(Date.now() + expiresMs).toISOString(),
        wait: options.wait !== false,
      },
      timer,
      out,
    );
    out.result({ ...releaseJson(result, timer), file, warnings: findings.length });
    reportRelease(out, result, timer, "published");
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
