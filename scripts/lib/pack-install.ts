/**
 * The package as a user gets it: `npm pack` in the repository (its prepack builds dist/), then
 * `npm install` of the tarball into a new, empty project in a temporary folder, outside the
 * repository so nothing resolves to the repository's node_modules. For the pack-install test and
 * the CLI start-up benchmark. I/O: runs npm (the registry or its cache), writes the temporary folder.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/**
 * The environment for npm and the installed CLI: PATH and HOME, npm's registry, cache and user
 * config if set, nothing else. The `npm_*` variables of the npm that started this process (prefix,
 * the repository as local prefix, ...) would otherwise steer the install.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  for (const name of ["npm_config_registry", "npm_config_cache", "npm_config_userconfig", "TMPDIR"]) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; never throws for a non-zero exit. */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = cleanEnv(),
): Promise<RunResult> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr, ms: performance.now() - started };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw err;
    return {
      code: e.code,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? e.message,
      ms: performance.now() - started,
    };
  }
}

export interface Installed {
  /** The temporary folder: the tarball and `app/`. */
  dir: string;
  /** The empty project the package is installed in. */
  app: string;
  tarball: string;
  /** The paths the tarball holds, as `npm pack --json` lists them. */
  files: string[];
  packMs: number;
  installMs: number;
}

async function ok(r: Promise<RunResult>, what: string): Promise<RunResult> {
  const done = await r;
  if (done.code !== 0) throw new Error(`${what} exited ${done.code}:\n${done.stderr}`);
  return done;
}

/** Packs the repository and installs the tarball as a devDependency of a new project. */
export async function packAndInstall(): Promise<Installed> {
  const dir = mkdtempSync(join(tmpdir(), "edgeflags-pack-"));
  const pack = await ok(run(npm, ["pack", "--pack-destination", dir, "--json"], root), "npm pack");
  // The prepack build prints to stdout before npm's JSON.
  const listed = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m)))[0] as {
    filename: string;
    files: { path: string }[];
  };
  const tarball = join(dir, listed.filename);
  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), `${JSON.stringify({ name: "app", private: true }, null, 2)}\n`);
  const install = await ok(
    run(npm, ["install", "--save-dev", "--prefer-offline", "--no-audit", "--no-fund", tarball], app),
    "npm install",
  );
  return {
    dir,
    app,
    tarball,
    files: listed.files.map((f) => f.path),
    packMs: pack.ms,
    installMs: install.ms,
  };
}
