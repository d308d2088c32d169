/**
 * `edgeflags rollback --to VERSION`: the flags of an earlier version, verified, republished under a
 * new higher version (versions never go down, so every worker accepts it). I/O: the target, /healthz.
 */
import { resolveActor } from "../actor";
import type { CliOptions } from "../config";
import { type ConfirmFlags, confirmSettings } from "../confirm";
import { CliError, EXIT } from "../output";
import { verifyReadBack } from "../snapshot";
import { Timer } from "../timing";
import { type CommandContext, openSession } from "./context";
import { breakGlassReason, readLive, release, releaseExit, releaseJson, reportRelease } from "./release";

export interface RollbackOptions extends CliOptions, ConfirmFlags {
  to: string;
  message?: string;
  wait?: boolean;
  /** Sign as an on-call key's break-glass without a policy saying so (needs `message`). */
  breakGlass?: boolean;
}

export async function rollbackCommand(options: RollbackOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  const to = Number(options.to);
  const confirm = confirmSettings(options);
  if (!Number.isSafeInteger(to) || to < 1) {
    throw new CliError(EXIT.usage, `--to takes a version number, got "${options.to}"`);
  }
  const session = await openSession(ctx, options, true);
  try {
    const breakGlass = breakGlassReason(
      session,
      options.message,
      "--message TEXT",
      options.breakGlass === true,
    );
    const [old, live] = await Promise.all([session.target.version(to), readLive(session, out)]);
    if (old === null)
      throw new CliError(EXIT.problems, `version ${to} was never published to ${session.target.where}`);
    if (live.payload?.version === to) {
      throw new CliError(EXIT.problems, `version ${to} is already the live version: nothing to roll back`);
    }
    const earlier = await verifyReadBack(old, session.keys, session.settings.environment);
    timer.mark("read");
    const note = `rollback to version ${to}`;
    const result = await release(
      session,
      {
        flags: earlier.flags,
        sourceDigest: earlier.sourceDigest,
        actor: resolveActor(session.settings.actor, ctx.io.cwd),
        message: options.message ? `${note}: ${options.message}` : note,
        wait: options.wait !== false,
        ...(confirm ? { confirm } : {}),
        live,
        // The old version's own approvals attest its flags; the live ones what has not changed since.
        earlier: earlier.approvals ?? [],
        ...(breakGlass ? { breakGlass } : {}),
      },
      timer,
      out,
    );
    out.result({ ...releaseJson(result, timer), rolledBackTo: to });
    reportRelease(out, result, timer, `rolled back to version ${to} as`);
    return releaseExit(result);
  } finally {
    await session.target.close();
  }
}
