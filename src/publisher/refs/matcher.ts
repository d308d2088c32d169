/**
 * Finding flag keys in one text, in a single regular-expression pass: the wrapper patterns (each with
 * one capture group, the key) and exact keys as string literals ('key', "key", `key`), combined into
 * one alternation. Pure, no I/O: a matcher is compiled once and run on every file.
 */
import { KEY } from "./patterns";

/** One reference: a key at a 1-based line and column (UTF-16 code units, like editors count). */
export interface Hit {
  key: string;
  line: number;
  column: number;
  /** Whether the key is in the flags file. Literals are only reported when it is; patterns always. */
  known: boolean;
}

export interface Matcher {
  readonly regex: RegExp;
  readonly keys: ReadonlySet<string>;
  /** For each wrapper pattern, the number of its capture group in `regex`. */
  readonly patternGroups: readonly number[];
  /** The group of a literal's key (its quote is the group before it). */
  readonly literalGroup: number;
}

/** A wrapper pattern that cannot be used: not a regular expression, or not exactly one group. */
export class PatternError extends Error {
  override readonly name = "PatternError";
  readonly code = "ERR_REFS_PATTERN";
}

function groupCount(source: string): number {
  return (new RegExp(`${source}|`).exec("")?.length ?? 1) - 1;
}

/**
 * Compiles the keys and wrapper patterns (regular-expression sources) into one matcher. Throws
 * PatternError for a pattern that does not compile, has not exactly one capture group or uses
 * backreferences (their numbers would change inside the alternation).
 */
export function compileMatcher(keys: Iterable<string>, patterns: readonly string[]): Matcher {
  const parts: string[] = [];
  const patternGroups: number[] = [];
  let group = 0;
  for (const source of patterns) {
    let groups: number;
    try {
      groups = groupCount(source);
    } catch (err) {
      throw new PatternError(
        `pattern ${JSON.stringify(source)} is not a regular expression: ${(err as Error).message}`,
      );
    }
    if (groups !== 1) {
      throw new PatternError(
        `pattern ${JSON.stringify(source)} has ${groups} capture groups: it needs exactly one, around the flag key (use (?:...) for others)`,
      );
    }
    if (/\\[1-9]|\\k</.test(source)) {
      throw new PatternError(
        `pattern ${JSON.stringify(source)} uses a backreference, which is not supported`,
      );
    }
    patternGroups.push(group + 1);
    group += 1;
    parts.push(`(?:${source})`);
  }
  const literalGroup = group + 2;
  parts.push(`(["'\`])(${KEY})\\${group + 1}`);
  return { regex: new RegExp(parts.join("|"), "g"), keys: new Set(keys), patternGroups, literalGroup };
}

/** Every reference in `text`, in order. */
export function scanText(text: string, matcher: Matcher): Hit[] {
  const hits: Hit[] = [];
  const { keys, patternGroups, literalGroup } = matcher;
  const regex = new RegExp(matcher.regex); // its own lastIndex: scans may run interleaved
  let line = 1;
  let lineStart = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    let key = m[literalGroup];
    let at: number;
    let known: boolean;
    if (key !== undefined) {
      if (!keys.has(key)) continue;
      at = m.index + 1;
      known = true;
    } else {
      key = "";
      for (const g of patternGroups) {
        const k = m[g];
        if (k !== undefined) {
          key = k;
          break;
        }
      }
      if (key === "") continue;
      // The key is the capture; patterns end at or just after it, so its last occurrence is it.
      at = m.index + m[0].lastIndexOf(key);
      known = keys.has(key);
    }
    for (let nl = text.indexOf("\n", lineStart); nl !== -1 && nl < at; nl = text.indexOf("\n", nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    hits.push({ key, line, column: at - lineStart + 1, known });
  }
  return hits;
}
