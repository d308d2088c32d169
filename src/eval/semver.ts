/**
 * A small semantic-version parser and comparator (SemVer 2.0.0 precedence, optional leading "v").
 * Hand-rolled to keep the worker bundle small; pure, no I/O.
 */

/** A parsed version. Pre-release identifiers are numbers (numeric ones) or strings. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre: readonly (number | string)[];
}

const NUM = "0|[1-9]\\d*";
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const BUILD_ID = "[0-9a-zA-Z-]+";
const SEMVER_RE = new RegExp(
  `^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);
// Versions are short; refusing long input keeps the regex cheap on hostile attributes.
const MAX_LENGTH = 256;

/** Parses a version; undefined when the string is not a valid semantic version. */
export function parseSemver(input: string): SemVer | undefined {
  if (input.length > MAX_LENGTH) return undefined;
  const m = SEMVER_RE.exec(input);
  if (m === null) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (major > Number.MAX_SAFE_INTEGER || minor > Number.MAX_SAFE_INTEGER || patch > Number.MAX_SAFE_INTEGER) {
    return undefined;
  }
  const pre: (number | string)[] = [];
  if (m[4] !== undefined) {
    for (const id of m[4].split(".")) {
      // Numeric identifiers compare as numbers; the regex already refused leading zeros.
      if (/^\d+$/.test(id)) {
        const n = Number(id);
        if (n > Number.MAX_SAFE_INTEGER) return undefined;
        pre.push(n);
      } else {
        pre.push(id);
      }
    }
  }
  return { major, minor, patch, pre };
}

function compareIds(a: number | string, b: number | string): number {
  if (typeof a === "number") {
    if (typeof b === "number") return a === b ? 0 : a < b ? -1 : 1;
    return -1; // numeric identifiers rank below alphanumeric ones
  }
  if (typeof b === "number") return 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** SemVer precedence: -1, 0 or 1. Build metadata is ignored; a pre-release ranks below its release. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  const ap = a.pre;
  const bp = b.pre;
  if (ap.length === 0 || bp.length === 0) {
    if (ap.length === bp.length) return 0;
    return ap.length === 0 ? 1 : -1;
  }
  const n = Math.min(ap.length, bp.length);
  for (let i = 0; i < n; i++) {
    const c = compareIds(ap[i]!, bp[i]!);
    if (c !== 0) return c;
  }
  return ap.length === bp.length ? 0 : ap.length < bp.length ? -1 : 1;
}
