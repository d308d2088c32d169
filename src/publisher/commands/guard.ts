/**
 * `edgeflags guard reset FLAG`: re-arms a flag's tripped guard without a publish. Signs a short-lived
 * reset for the live version with this publisher's key and posts it to the worker, whose aggregator
 * verifies it with the worker's keys and trust policy (a publisher key in scope of the flag). I/O: the
 * target (the live version), the worker.
 */
import { signGuardReset } from "../../guard/reset";
import type { CliOptions } from "../config";
import { postReset } from "../guard-state";
import { CliError, EXIT } from "../output";
import { type CommandContext, openSession } from "./context";
import { readLiveVerified } from "./kill";

export async function guardResetCommand(
  flag: string,
  options: CliOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const session = await openSession(ctx, options, true);
  try {
    const { settings } = session;
    if (!settings.url)
      throw new CliError(EXIT.usage, "a reset goes to the worker: set --url or EDGEFLAGS_URL");
    if (!settings.publishToken)
      throw new CliError(EXIT.usage, "a reset needs the publish token (EDGEFLAGS_PUBLISH_TOKEN)");
    const { payload } = await readLiveVerified(session, ctx);
    const def = Object.hasOwn(payload.flags.flags, flag) ? payload.flags.flags[flag] : undefined;
    if (!def) throw new CliError(EXIT.problems, `no flag "${flag}" in live version ${payload.version}`);
    if (!def.guard)
      throw new CliError(
        EXIT.problems,
        `flag "${flag}" declares no guard in live version ${payload.version}`,
      );
    const token = await signGuardReset(
      { environment: settings.environment, version: payload.version, flag, now: Date.now() },
      (session.key as NonNullable<typeof session.key>).signer,
    );
    const { gen } = await postReset(settings.url, settings.publishToken, token);
    out.result({ ok: true, environment: settings.environment, version: payload.version, flag, gen });
    out.line(
      `guard of ${out.paint("bold", flag)} re-armed for version ${payload.version} (${settings.environment}): every location serves it as signed again within a signal check`,
    );
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
