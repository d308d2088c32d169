/**
 * `edgeflags unkill FLAG... [--tag TAG]` (also `kill --undo`): undoes kills exactly. For each flag it
 * walks back from the live version to the snapshot whose signed audit block records killing it,
 * refusing when any publish since changed the flag; then it puts back the `enabled` recorded there
 * (unset again if it was unset) and publishes every flag as one version. I/O: the target, /healthz.
 */
import type { SnapshotPayload } from "../../snapshot/format";
import { resolveActor } from "../actor";
import type { CliOptions } from "../config";
import { type ConfirmFlags, confirmSettings } from "../confirm";
import { canonicalJson } from "../diff";
import { CliError, EXIT } from "../output";
import { verifyReadBack } from "../snapshot";
import { digestOf } from "../source";
import { Timer } from "../timing";
import { type CommandContext, openSession } from "./context";
import { readLiveVerified, selectFlags } from "./kill";
import { breakGlassReason, release, releaseExit, releaseJson, reportRelease } from "./release";

export interface UnkillOptions extends CliOptions, ConfirmFlags {
  /** Optional for an undo: recorded in the audit message when given. */
  reason?: string;
  tag?: string[];
  wait?: boolean;
  /** Sign as an on-call key's break-glass without a policy saying so (needs `reason`). */
  breakGlass?: boolean;
}

/** How many earlier versions unkill reads, per flag, looking for its kill. */
export const UNKILL_SEARCH_LIMIT = 100;

export interface FoundKill {
  flag: string;
  /** The version whose audit block records the kill. */
  killedIn: number;
  /** `enabled` before the kill; null: it was unset. */
  previousEnabled: boolean | null;
}

const who = (p: SnapshotPayload) => `${p.audit?.actor ?? "unknown"}: "${p.audit?.message ?? "no message"}"`;

/**
 * The kill the live state of `flag` comes from: walking back from `live` (`read` returns a verified
 * earlier version, or null when there is none), the first snapshot whose audit block records killing
 * it, provided every version on the way left the flag exactly as it is live. Otherwise, why not.
 */
export async function findKill(
  flag: string,
  live: SnapshotPayload,
  read: (version: number) => Promise<SnapshotPayload | null>,
): Promise<FoundKill | { refusal: string }> {
  const state = canonicalJson(live.flags.flags[flag]);
  let newer = live;
  let next = live.version - 1;
  let reads = 0;
  for (;;) {
    const kill = newer.audit?.killed?.find((k) => k.flag === flag);
    if (kill) return { flag, killedIn: newer.version, previousEnabled: kill.previousEnabled };
    let older: SnapshotPayload | null = null;
    while (older === null) {
      if (next < 1) return { refusal: `"${flag}" was never disabled by \`edgeflags kill\`` };
      if (reads++ >= UNKILL_SEARCH_LIMIT) {
        return {
          refusal: `no kill of "${flag}" in the ${UNKILL_SEARCH_LIMIT} versions before ${live.version}`,
        };
      }
      older = await read(next--);
    }
    if (canonicalJson(older.flags.flags[flag]) !== state) {
      return {
        refusal: `"${flag}" was last changed by version ${newer.version} (${who(newer)}), which is not a kill: unkill only undoes a kill nothing has changed since; publish the flags file or roll back instead`,
      };
    }
    newer = older;
  }
}

/** Restores the flags named or tagged to their state before their kill, in one new version. */
export async function unkillCommand(
  names: string[],
  options: UnkillOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  const confirm = confirmSettings(options);
  const reason = options.reason?.trim();
  const session = await openSession(ctx, options, true);
  try {
    const breakGlass = breakGlassReason(session, reason, "--reason TEXT", options.breakGlass === true);
    const { live, payload } = await readLiveVerified(session, ctx);
    timer.mark("read live");
    const selected = selectFlags(payload, names, options.tag ?? []);
    const enabled = selected.filter((k) => payload.flags.flags[k]?.enabled !== false);
    const keys = selected.filter((k) => !enabled.includes(k));
    if (keys.length === 0) {
      out.result({ ok: true, flags: [], notDisabled: enabled, version: payload.version });
      out.ok(
        `${enabled.length === 1 ? "flag" : "flags"} ${enabled.join(", ")} ${enabled.length === 1 ? "is" : "are"} not disabled in live version ${payload.version}: nothing to undo`,
      );
      return EXIT.ok;
    }
    if (enabled.length > 0) {
      out.note(`not disabled in live version ${payload.version}, left as they are: ${enabled.join(", ")}`);
    }
    const { target, keys: trusted, settings } = session;
    const cache = new Map<number, Promise<SnapshotPayload | null>>();
    const read = (version: number) => {
      let p = cache.get(version);
      if (!p) {
        p = target
          .version(version)
          .then((jws) => (jws === null ? null : verifyReadBack(jws, trusted, settings.environment)));
        cache.set(version, p);
      }
      return p;
    };
    const found = await Promise.all(keys.map((k) => findKill(k, payload, read)));
    const refusals = found.flatMap((f) => ("refusal" in f ? [f.refusal] : []));
    if (refusals.length > 0) {
      throw new CliError(EXIT.problems, `${refusals.join("; ")}: nothing was published`);
    }
    timer.mark("read history");
    const kills = found as FoundKill[];
    const flags = { ...payload.flags.flags };
    for (const k of kills) {
      const { enabled: _killed, ...rest } = flags[k.flag] as NonNullable<(typeof flags)[string]>;
      flags[k.flag] = k.previousEnabled === null ? rest : { ...rest, enabled: k.previousEnabled };
    }
    const doc = { ...payload.flags, flags };
    const versions = [...new Set(kills.map((k) => k.killedIn))].sort((a, b) => a - b);
    const undo = `undo the kill${versions.length === 1 ? "" : "s"} in version${versions.length === 1 ? "" : "s"} ${versions.join(", ")}`;
    const result = await release(
      session,
      {
        flags: doc,
        sourceDigest: digestOf(canonicalJson(doc)),
        actor: resolveActor(settings.actor, ctx.io.cwd),
        message: `unkill ${keys.join(", ")}: ${undo}${reason ? `; ${reason}` : ""}`,
        wait: options.wait !== false,
        ...(confirm ? { confirm } : {}),
        live,
        ...(breakGlass ? { breakGlass } : {}),
      },
      timer,
      out,
    );
    out.result({
      ...releaseJson(result, timer),
      flags: keys,
      restored: kills,
      ...(enabled.length > 0 ? { notDisabled: enabled } : {}),
    });
    reportRelease(out, result, timer, `unkilled ${keys.join(", ")}:`);
    return releaseExit(result);
  } finally {
    await session.target.close();
  }
}
