/**
 * What the references mean for the flags file: every flag's references, references to keys the file
 * does not have (with the closest key as a suggestion), flags nothing references, and expired flags
 * the code still names. Pure, no I/O, no clock: `now` is passed in.
 */
import type { FileHit } from "./scan";
import { suggestKey } from "./suggest";

const DAY_MS = 86_400_000;

/** A place in the scanned code. */
export interface CodeLocation {
  file: string;
  line: number;
  column: number;
}

export interface UnknownReference extends CodeLocation {
  key: string;
  /** The flags file's closest key, when one is close enough to be what was meant. */
  suggestion?: string;
}

export interface ExpiredFlag {
  key: string;
  expires: string;
  references: CodeLocation[];
}

export interface RefsAnalysis {
  /** Every flag of the file, in the file's order, with its references ([] when it has none). */
  references: Record<string, CodeLocation[]>;
  unknown: UnknownReference[];
  unreferenced: string[];
  /** Expired flags with at least one reference. */
  expired: ExpiredFlag[];
}

/**
 * Whether an `expires` date (YYYY-MM-DD) has passed at `now`: the date is the last day the flag may
 * live, as lint counts it (expired from the next midnight UTC on).
 */
export function isExpired(expires: string | undefined, now: number): boolean {
  if (!expires) return false;
  const ms = Date.parse(`${expires}T00:00:00Z`);
  return !Number.isNaN(ms) && ms + DAY_MS <= now;
}

/** The analysis of `hits` against the flags (key to its `expires`, in the file's order). */
export function analyseRefs(
  flags: ReadonlyMap<string, { expires?: string }>,
  hits: readonly FileHit[],
  now: number,
): RefsAnalysis {
  const references: Record<string, CodeLocation[]> = {};
  for (const key of flags.keys()) references[key] = [];
  const unknown: UnknownReference[] = [];
  const suggestions = new Map<string, string | undefined>();
  for (const h of hits) {
    const at = { file: h.file, line: h.line, column: h.column };
    const list = Object.hasOwn(references, h.key) ? references[h.key] : undefined;
    if (list) {
      list.push(at);
      continue;
    }
    if (!suggestions.has(h.key)) suggestions.set(h.key, suggestKey(h.key, flags.keys()));
    const suggestion = suggestions.get(h.key);
    unknown.push({ key: h.key, ...at, ...(suggestion ? { suggestion } : {}) });
  }
  const unreferenced = [...flags.keys()].filter((k) => references[k]?.length === 0);
  const expired: ExpiredFlag[] = [];
  for (const [key, flag] of flags) {
    const refs = references[key] ?? [];
    if (refs.length > 0 && flag.expires && isExpired(flag.expires, now)) {
      expired.push({ key, expires: flag.expires, references: refs });
    }
  }
  return { references, unknown, unreferenced, expired };
}
