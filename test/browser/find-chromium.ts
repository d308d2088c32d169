/**
 * Where the browser suites' Chromium is: EDGEFLAGS_CHROMIUM, else the first known name on PATH.
 * Shared by the suites and the run's global setup (so it imports nothing from vitest). I/O: stats PATH.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Names Debian, Ubuntu and Google give the browser, looked up on PATH in this order. */
const NAMES = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The browser to use: EDGEFLAGS_CHROMIUM if set, else the first known name on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.EDGEFLAGS_CHROMIUM) return env.EDGEFLAGS_CHROMIUM;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Whether browser suites must run (CI) rather than be skipped when no browser is found. */
export function browserRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI !== undefined && env.CI !== "" && env.CI !== "0" && env.CI.toLowerCase() !== "false";
}

export const SKIP_LINE =
  "browser tests skipped: no Chromium on PATH (chromium, chromium-browser, google-chrome). " +
  "Install one (Debian: apt-get install chromium) or set EDGEFLAGS_CHROMIUM=/path/to/chrome; under CI=true they always run.";
