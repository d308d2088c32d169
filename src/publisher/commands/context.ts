/**
 * What every command receives: the output, the resolved settings and helpers to open the target
 * with the right keys. Resolving settings reads the config file; nothing else here does I/O.
 */
import type { KeyRing } from "../../snapshot/keys";
import { type CliOptions, resolveSettings, type Settings } from "../config";
import { type LoadedKey, loadPrivateKey, trustedKeys } from "../keys";
import type { Io, Output } from "../output";
import { type LoadedPolicy, loadPolicy } from "../policy";
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
  /** The trust policy (--policy / EDGEFLAGS_POLICY_FILE / policyFile), when one is configured. */
  policy: LoadedPolicy | undefined;
}

/**
 * Settings, the private key, the trusted public keys and the target. The key is loaded when `needKey`
 * is true; with "if-set", when one is configured and the target is a direct-KV one, which verifies
 * what it reads with this publisher's keys (the worker target leaves that to the worker). The caller
 * closes the target.
 */
export async function openSession(
  ctx: CommandContext,
  options: CliOptions,
  needKey: boolean | "if-set",
): Promise<Session> {
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  const policy = loadPolicy(settings);
  const key =
    needKey === true || (needKey === "if-set" && settings.privateKey && settings.target !== "worker")
      ? await loadPrivateKey(settings)
      : undefined;
  const keys = await trustedKeys(settings.publicKeys, key?.jwk);
  const target = await openTarget(settings, keys, (label) => ctx.out.progress(label));
  return { settings, key, keys, target, policy };
}
