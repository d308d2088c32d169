/**
 * `edgeflags kill FLAG --reason TEXT`: the emergency path. Reads the live snapshot (the newest that
 * verifies, so a poisoned `current` in KV cannot stop it), verifies it, sets `enabled: false` on one
 * flag and publishes that as the next version - no flags file needed. I/O: the target, /healthz.
 */
import { resolveActor } from "../actor";
import type { CliOptions } from "../config";
import { canonicalJson } from "../diff";
import { CliError, EXIT } from "../output";
import { verifyReadBack } from "../snapshot";
import { digestOf } from "../source";
import { Timer } from "../timing";
import { type CommandContext, openSession } from "./context";
import { readLive, release, releaseJson, reportRelease } from "./release";

export interface KillOptions extends CliOptions {
  reason: string;
  wait?: boolean;
}

export async function killCommand(flag: string, options: KillOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  if (!options.reason?.trim())
    throw new CliError(EXIT.usage, "--reason is required: say why the flag is being killed");
  const session = await openSession(ctx, options, true);
  try {
    const live = await readLive(session, out);
    if (live.jws === null) {
      const what = live.warning ? "nothing that verifies" : "nothing";
      throw new CliError(EXIT.problems, `${what} is published on ${session.target.where}`);
    }
    const payload = await verifyReadBack(live.jws, session.keys, session.settings.environment);
    timer.mark("read live");
    const current = payload.flags.flags[flag];
    if (!current) {
      const known = Object.keys(payload.flags.flags).sort();
      throw new CliError(
        EXIT.problems,
        `no flag "${flag}" in live version ${payload.version}; flags: ${known.join(", ")}`,
      );
    }
    if (current.enabled === false) {
      out.result({ ok: true, flag, alreadyDisabled: true, version: payload.version });
      out.ok(`flag ${flag} is already disabled in live version ${payload.version}: nothing to do`);
      return EXIT.ok;
    }
    const flags = {
      ...payload.flags,
      flags: { ...payload.flags.flags, [flag]: { ...current, enabled: false } },
    };
    const result = await release(
      session,
      {
        flags,
        // No flags file: the digest covers the flags actually signed.
        sourceDigest: digestOf(canonicalJson(flags)),
        actor: resolveActor(session.settings.actor, ctx.io.cwd),
        message: `kill ${flag}: ${options.reason.trim()}`,
        wait: options.wait !== false,
        live: { ...live, payload },
      },
      timer,
      out,
    );
    out.result({ ...releaseJson(result, timer), flag });
    reportRelease(out, result, timer, `killed ${flag}:`);
    out.line(
      `  re-enable it by publishing the flags file (which still says enabled), or roll back to version ${payload.version}`,
    );
    return EXIT.ok;
  } finally {
    await session.target.close();
  }
}
