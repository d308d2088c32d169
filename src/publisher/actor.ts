/**
 * Who is publishing, for the audit record: --actor, EDGEFLAGS_ACTOR, git's user.name/user.email, or
 * the OS user. I/O: runs `git config` and reads the OS user name.
 */
import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";

function git(key: string, cwd: string): string | undefined {
  try {
    const value = execFileSync("git", ["config", "--get", key], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 2000,
    }).trim();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The actor to record; `explicit` is the --actor option or EDGEFLAGS_ACTOR, already resolved. */
export function resolveActor(explicit: string | undefined, cwd: string): string {
  if (explicit) return explicit;
  const name = git("user.name", cwd);
  const email = git("user.email", cwd);
  if (name && email) return `${name} <${email}>`;
  if (name ?? email) return (name ?? email) as string;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
