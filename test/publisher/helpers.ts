/**
 * Helpers for the publisher tests: a temporary project folder with keys and a config file, and
 * running the CLI in-process (through `main`, exactly what the bin does) or as a real process.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { main } from "../../src/publisher/cli";
import type { CommandContext } from "../../src/publisher/commands/context";
import { type GeneratedKeys, generateKeys } from "../../src/publisher/keys";
import { CliError, type Format, Output } from "../../src/publisher/output";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const binPath = join(repoRoot, "bin", "edgeflags.mjs");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (commands run with --json). */
  json: <T = Record<string, unknown>>() => T;
}

/**
 * Runs the CLI in-process with `cwd` and `env` (nothing from the real environment leaks in);
 * `stdoutTTY` says stdout is a terminal, as bin/edgeflags.mjs does when process.stdout.isTTY.
 */
export async function cli(
  argv: string[],
  cwd: string,
  env: Record<string, string> = {},
  { stdoutTTY = false }: { stdoutTTY?: boolean } = {},
): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { EDGEFLAGS_ACTOR: "test-actor", ...env },
    cwd,
    stdoutTTY,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

/** Runs the real `bin/edgeflags.mjs` as a child process. */
export async function spawnCli(
  argv: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const childEnv = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    EDGEFLAGS_ACTOR: "spawned-actor",
    ...env,
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [binPath, ...argv], {
      cwd,
      env: childEnv,
    });
    return { code: 0, stdout, stderr, json: () => JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, json: () => JSON.parse(e.stdout) };
  }
}

export interface Project {
  dir: string;
  keys: GeneratedKeys;
  keyFile: string;
  /** Writes a file in the project and returns its path. */
  write(name: string, text: string): string;
}

/** A temporary project folder with a signing key and `.edgeflags/config.json`. */
export async function project(config: Record<string, unknown>, kid = "test-key"): Promise<Project> {
  const dir = mkdtempSync(join(tmpdir(), "edgeflags-pub-"));
  mkdirSync(join(dir, ".edgeflags"));
  const keys = await generateKeys(kid);
  const keyFile = join(dir, ".edgeflags", "key.json");
  writeFileSync(keyFile, JSON.stringify(keys.privateJwk), { mode: 0o600 });
  writeFileSync(
    join(dir, ".edgeflags", "config.json"),
    JSON.stringify({ privateKeyFile: "key.json", ...config }),
  );
  return {
    dir,
    keys,
    keyFile,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}

/**
 * A project publishing to a worker started in workerd for it: the worker trusts the project's key,
 * refreshes every second, and the config names its URL, `environment` and `token`. The caller
 * disposes of the worker.
 */
export async function workerProject(
  environment: string,
  token: string,
  kid: string,
): Promise<{ p: Project; worker: LocalWorker }> {
  const p = await project({}, kid);
  const worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: environment,
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
      PUBLISH_TOKEN: token,
      REFRESH_INTERVAL_SECONDS: "1",
    },
  });
  writeFileSync(
    join(p.dir, ".edgeflags", "config.json"),
    JSON.stringify({
      url: worker.url,
      environment,
      publishToken: token,
      privateKeyFile: "key.json",
      waitTimeoutSeconds: 10,
    }),
  );
  return { p, worker };
}

/** A flags file: `banner` is a client-visible string flag serving `text`; `extra` adds YAML lines. */
export function flagsYaml(text: string, extra = ""): string {
  return `flags:
  banner:
    description: Banner text.
    owner: web
    kind: ops
    runbook: https://runbooks.example.com/banner
    clientVisible: true
    variants: { shown: ${JSON.stringify(text)}, hidden: "" }
    offVariant: hidden
    fallthrough: shown
  checkout:
    owner: payments
    kind: ops
    runbook: https://runbooks.example.com/checkout
    clientVisible: true
    fallthrough: on
${extra}`;
}

/**
 * Runs one command function the way the CLI's `main` does (its output format, a CliError printed and
 * turned into its exit code), capturing stdout and stderr.
 */
export async function runCommand(
  command: (ctx: CommandContext) => Promise<number>,
  { cwd, format = "text", env = {} }: { cwd: string; format?: Format; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    env,
    cwd,
  };
  const out = new Output(io, format);
  let code: number;
  try {
    code = await command({ io, out });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    out.error(err.message);
    code = err.exitCode;
  }
  return { code, stdout, stderr };
}
