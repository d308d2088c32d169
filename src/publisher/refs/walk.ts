/**
 * Which files `edgeflags refs` reads: everything under the given paths except node_modules and .git,
 * what .gitignore files exclude (nested ones and those between the repository's top and the path
 * too), symbolic links, and what --include/--exclude globs leave out. I/O: lists directories and
 * reads .gitignore files (synchronously: listing is cheap next to reading the files).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import picomatch from "picomatch";

/** Folders never scanned, whatever .gitignore says. */
export const ALWAYS_SKIPPED = new Set(["node_modules", ".git"]);

export interface WalkOptions {
  cwd: string;
  /** Files and folders to scan, relative to `cwd` (default: `cwd` itself). */
  roots?: readonly string[];
  /** Globs (relative to `cwd`; without a `/` they match a file's name anywhere): scan only these. */
  include?: readonly string[];
  /** Globs of files and folders to leave out, like `include`. */
  exclude?: readonly string[];
  /** Absolute paths never scanned (the flags file itself, the --out file). */
  skip?: readonly string[];
  /** Honour .gitignore files (default true). */
  gitignore?: boolean;
}

export interface WalkedFile {
  /** As reported: relative to `cwd`, with `/`. */
  path: string;
  abs: string;
}

export interface WalkResult {
  files: WalkedFile[];
  /** Files and folders a .gitignore left out (a folder counts once). */
  ignored: number;
  /** Files and folders --include/--exclude left out. */
  excluded: number;
}

interface IgnoreLevel {
  base: string;
  rules: Ignore;
}

function readIgnore(dir: string): IgnoreLevel | undefined {
  const file = join(dir, ".gitignore");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return { base: dir, rules: ignore().add(text) };
}

/** The .gitignore files above `dir` up to the repository's top (none when `dir` is in no repository). */
function ancestorIgnores(dir: string): IgnoreLevel[] {
  if (existsSync(join(dir, ".git"))) return [];
  const above: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    above.unshift(d);
    if (existsSync(join(d, ".git"))) break;
    if (dirname(d) === d) return [];
  }
  return above.flatMap((d) => readIgnore(d) ?? []);
}

const toPosix = sep === "/" ? (p: string) => p : (p: string) => p.split(sep).join("/");

/** Whether git would ignore `abs`: the deepest .gitignore with an opinion on it decides. */
function isIgnored(levels: readonly IgnoreLevel[], abs: string, isDir: boolean): boolean {
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i] as IgnoreLevel;
    // `abs` is always below `base` (the walk joins names onto it): slicing beats path.relative here.
    const rel = toPosix(abs.slice(level.base.length + 1));
    const r = level.rules.test(isDir ? `${rel}/` : rel);
    if (r.ignored) return true;
    if (r.unignored) return false;
  }
  return false;
}

/**
 * One test for a list of globs: those with a `/` match the whole path (relative to the working
 * directory), those without match a file's or folder's name anywhere, as in .gitignore.
 */
function globMatcher(globs: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  if (!globs?.length) return undefined;
  const byPath = globs.filter((g) => g.includes("/"));
  const byName = globs.filter((g) => !g.includes("/"));
  const path = byPath.length > 0 ? picomatch(byPath, { dot: true }) : () => false;
  const name = byName.length > 0 ? picomatch(byName, { dot: true, basename: true }) : () => false;
  return (p) => path(p) || name(p);
}

/** The files to scan, sorted by path within each root. */
export function walkFiles(options: WalkOptions): WalkResult {
  const cwd = resolve(options.cwd);
  const included = globMatcher(options.include);
  const excludedBy = globMatcher(options.exclude);
  const skip = new Set(options.skip ?? []);
  const useGitignore = options.gitignore !== false;
  const result: WalkResult = { files: [], ignored: 0, excluded: 0 };
  const seen = new Set<string>();

  const addFile = (abs: string, path: string) => {
    if (skip.has(abs) || seen.has(abs)) return;
    if ((included && !included(path)) || excludedBy?.(path)) {
      result.excluded++;
      return;
    }
    seen.add(abs);
    result.files.push({ path, abs });
  };

  const walk = (dir: string, levels: IgnoreLevel[]) => {
    const own = useGitignore ? readIgnore(dir) : undefined;
    const here = own ? [...levels, own] : levels;
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const isDir = entry.isDirectory();
      if (!isDir && !entry.isFile()) continue; // symbolic links, sockets, ...
      if (isDir && ALWAYS_SKIPPED.has(entry.name)) continue;
      if (useGitignore && here.length > 0 && isIgnored(here, abs, isDir)) {
        result.ignored++;
        continue;
      }
      const path = toPosix(relative(cwd, abs));
      if (isDir) {
        if (excludedBy?.(path)) result.excluded++;
        else walk(abs, here);
      } else addFile(abs, path);
    }
  };

  for (const root of options.roots?.length ? options.roots : ["."]) {
    const abs = resolve(cwd, root);
    // A path that does not exist throws ENOENT here, for the caller to report.
    if (statSync(abs).isDirectory()) walk(abs, useGitignore ? ancestorIgnores(abs) : []);
    else addFile(abs, toPosix(relative(cwd, abs)) || root); // named on purpose: scanned even if ignored
  }
  return result;
}
