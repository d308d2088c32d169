/**
 * What every command receives: the output, the resolved settings and helpers to open the target
 * with the right keys. Resolving settings reads the config file; nothing else here does I/O.
 */
import type { KeyRing } from "../../snapshot/keys";
import { type CliOptions, resolveSettings, type Settings } from "../config";
import { type LoadedKey, loadPrivateKey, trustedKeys } from "../keys";
import type { Io, Output } from "../output";
import { openTarget, type Target } from "../targets/index";

export interface CommandContext {
  io: Io;
  out: Output;
  /** True when running as the `edgeflags` process (timings then include Node's start-up). */
  processStart?: boolean;
}

export interface Session {
  settings: Settings;
  key: LoadedKey | undefined;
  keys: KeyRing;
  target: Target;
}

/**
 * Settings, the private key (when `needKey`), the trusted public keys and the target. The caller
 * closes the target.
 */
export async function openSession(
  ctx: CommandContext,
  options: CliOptions,
  needKey: boolean,
): Promise<Session> {
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  const key = needKey ? await loadPrivateKey(settings) : undefined;
  const keys = await trustedKeys(settings.publicKeys, key?.jwk);
  const target = await openTarget(settings, keys, (label) => ctx.out.progress(label));
  return { settings, key, keys, target };
}
