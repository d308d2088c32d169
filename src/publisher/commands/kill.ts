/**
 * `edgeflags kill FLAG... [--tag TAG] --reason TEXT`: the emergency path. Reads the live snapshot (the
 * newest that verifies, so a poisoned `current` in KV cannot stop it), verifies it, sets
 * `enabled: false` on every named or tagged flag and publishes that as one next version - no flags
 * file needed. Each flag's state before is signed into the audit block, so `unkill` (`kill --undo`)
 * restores it exactly. I/O: the target, /healthz.
 */
import type { FlagsDocument } from "../../flags/types";
import type { CoverageReport } from "../../policy/check";
import type { KilledFlag, SnapshotPayload } from "../../snapshot/format";
import { resolveActor } from "../actor";
import type { CliOptions } from "../config";
import { type ConfirmFlags, confirmSettings } from "../confirm";
import { canonicalJson } from "../diff";
import { CliError, EXIT } from "../output";
import { verifyReadBack } from "../snapshot";
import { digestOf } from "../source";
import { Timer } from "../timing";
import { type CommandContext, openSession, type Session } from "./context";
import {
  breakGlassReason,
  type LiveRead,
  readLive,
  release,
  releaseExit,
  releaseJson,
  reportRelease,
} from "./release";

export interface KillOptions extends CliOptions, ConfirmFlags {
  reason?: string;
  /** Every flag with one of these tags (repeatable). */
  tag?: string[];
  wait?: boolean;
  /** Sign as an on-call key's break-glass without a policy saying so (records audit.breakGlass). */
  breakGlass?: boolean;
}

/** The live snapshot, verified by this publisher before its content is signed again. */
export async function readLiveVerified(
  session: Session,
  ctx: CommandContext,
): Promise<{ live: LiveRead; payload: SnapshotPayload }> {
  const live = await readLive(session, ctx.out);
  if (live.jws === null) {
    const what = live.warning ? "nothing that verifies" : "nothing";
    throw new CliError(EXIT.problems, `${what} is published on ${session.target.where}`);
  }
  const payload = await verifyReadBack(live.jws, session.keys, session.settings.environment);
  return { live: { ...live, payload }, payload };
}

/**
 * The flags named and those carrying one of `tags`, in that order without repeats. Unknown keys and
 * tags no flag has are refused together, before anything is published.
 */
export function selectFlags(payload: SnapshotPayload, names: string[], tags: string[]): string[] {
  if (names.length === 0 && tags.length === 0) {
    throw new CliError(EXIT.usage, "name at least one flag, or --tag TAG");
  }
  const flags = payload.flags.flags;
  const problems: string[] = [];
  const unknown = names.filter((k) => !Object.hasOwn(flags, k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => `"${k}"`).join(", ");
    problems.push(`no flag${unknown.length === 1 ? "" : "s"} ${list} in live version ${payload.version}`);
  }
  const selected = names.filter((k) => Object.hasOwn(flags, k));
  for (const tag of tags) {
    const tagged = Object.keys(flags).filter((k) => flags[k]?.tags?.includes(tag));
    if (tagged.length === 0) problems.push(`no flag in live version ${payload.version} has tag "${tag}"`);
    selected.push(...tagged);
  }
  if (problems.length > 0) {
    throw new CliError(
      EXIT.problems,
      `${problems.join("; ")}; flags: ${Object.keys(flags).sort().join(", ")}`,
    );
  }
  return [...new Set(selected)];
}

/** `doc` with `enabled: false` on `keys`, and each one's `enabled` before (null: it was unset). */
export function killFlags(
  doc: FlagsDocument,
  keys: string[],
): { flags: FlagsDocument; killed: KilledFlag[] } {
  const flags = { ...doc.flags };
  const killed: KilledFlag[] = [];
  for (const key of keys) {
    const flag = flags[key];
    if (!flag) continue;
    killed.push({ flag: key, previousEnabled: flag.enabled ?? null });
    flags[key] = { ...flag, enabled: false };
  }
  return { flags: { ...doc, flags }, killed };
}

/** The killed flags `key` depends on through its prerequisites (transitively), in the order found. */
export function killedPrerequisites(doc: FlagsDocument, key: string, killed: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const seen = new Set<string>([key]);
  const stack = [key];
  while (stack.length > 0) {
    const flag = doc.flags[stack.pop() as string];
    for (const p of flag?.prerequisites ?? []) {
      if (seen.has(p.flag)) continue;
      seen.add(p.flag);
      if (killed.has(p.flag)) found.push(p.flag);
      stack.push(p.flag);
    }
  }
  return found;
}

/**
 * Why a kill cannot pass the trust policy, beyond what each item needs: a flag whose definition
 * changes with a prerequisite the kill disables, a killed flag whose off value nobody approved, and,
 * for an on-call key, what it may do alone.
 */
export function explainKill(
  doc: FlagsDocument,
  keys: string[],
  onCall: string | undefined,
): (report: CoverageReport) => string[] {
  const killed = new Set(keys);
  return (report) => {
    const lines: string[] = [];
    for (const it of report.items) {
      if (it.ok || !it.item.startsWith("flags.")) continue;
      const key = it.item.slice("flags.".length);
      const via = killedPrerequisites(doc, key, killed);
      if (!killed.has(key) && via.length > 0) {
        lines.push(
          `${it.item} depends on ${via.join(", ")} (prerequisite${via.length === 1 ? "" : "s"}), so killing ${via.length === 1 ? "it" : "them"} changes ${key}'s definition, and nobody approved that one: kill ${key} too, or have the change approved and publish it`,
        );
      } else if (killed.has(key) && it.by.length < Math.max(1, it.needs)) {
        lines.push(
          `${it.item}: no approval carried by the live snapshot covers the value it serves when disabled (its variants and offVariant), so it cannot be killed without ${it.needs > 0 ? "new approvals" : "a publisher key"}`,
        );
      }
    }
    if (onCall) {
      lines.push(
        `(${onCall} is an on-call key: alone it may only disable flags in its scope whose off value is approved, leaving every other flag as approved)`,
      );
    }
    return lines;
  };
}

/** Disables the flags named or tagged in one new version, recording their state before. */
export async function killCommand(
  names: string[],
  options: KillOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const timer = new Timer(ctx.processStart);
  const confirm = confirmSettings(options);
  const reason = options.reason?.trim();
  if (!reason) throw new CliError(EXIT.usage, "--reason is required: say why the flag is being killed");
  const session = await openSession(ctx, options, true);
  try {
    const breakGlass = breakGlassReason(session, reason, "--reason TEXT", options.breakGlass === true);
    const { live, payload } = await readLiveVerified(session, ctx);
    timer.mark("read live");
    const tags = options.tag ?? [];
    const selected = selectFlags(payload, names, tags);
    const disabled = selected.filter((k) => payload.flags.flags[k]?.enabled === false);
    const keys = selected.filter((k) => !disabled.includes(k));
    const which = (ks: string[]) => `flag${ks.length === 1 ? "" : "s"} ${ks.join(", ")}`;
    if (keys.length === 0) {
      out.result({
        ok: true,
        ...(selected.length === 1 ? { flag: selected[0] } : {}),
        flags: [],
        alreadyDisabled: disabled,
        version: payload.version,
      });
      out.ok(
        `${which(disabled)} ${disabled.length === 1 ? "is" : "are"} already disabled in live version ${payload.version}: nothing to do`,
      );
      return EXIT.ok;
    }
    if (disabled.length > 0) {
      out.note(
        `already disabled in live version ${payload.version}, left as they are: ${disabled.join(", ")}`,
      );
    }
    const { flags, killed } = killFlags(payload.flags, keys);
    const byTag = tags.length > 0 ? ` (tag ${tags.join(", ")})` : "";
    const result = await release(
      session,
      {
        flags,
        // No flags file: the digest covers the flags actually signed.
        sourceDigest: digestOf(canonicalJson(flags)),
        actor: resolveActor(session.settings.actor, ctx.io.cwd),
        message: `kill ${keys.join(", ")}${byTag}: ${reason}`,
        wait: options.wait !== false,
        ...(confirm ? { confirm } : {}),
        live,
        audit: { killed },
        ...(breakGlass ? { breakGlass } : {}),
        explain: explainKill(flags, keys, breakGlass ? session.key?.signer.kid : undefined),
      },
      timer,
      out,
    );
    out.result({
      ...releaseJson(result, timer),
      ...(keys.length === 1 ? { flag: keys[0] } : {}),
      flags: keys,
      killed,
      ...(disabled.length > 0 ? { alreadyDisabled: disabled } : {}),
    });
    reportRelease(out, result, timer, `killed ${keys.join(", ")}:`);
    out.line(
      `  undo with \`edgeflags unkill ${keys.join(" ")}\` (restores exactly their state before), or roll back to version ${payload.version}`,
    );
    return releaseExit(result);
  } finally {
    await session.target.close();
  }
}
