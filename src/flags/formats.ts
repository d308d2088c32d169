/**
 * Checks for the text formats a flags file uses: ISO 8601 instants and dates, semantic versions,
 * "HH:MM" times, IANA time zones, bounded regular expressions. Pure, no I/O. Each returns a reason
 * the value is wrong, or undefined when it is fine.
 */
import { parseSemver } from "../eval/semver";
import { MAX_PATTERN_LENGTH } from "./defaults";

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-](\d{2}):(\d{2})))?$/;
const TIME_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function badCalendarDate(y: number, m: number, d: number): boolean {
  return m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m);
}

/**
 * An ISO 8601 date ("2025-06-01", midnight UTC) or instant with an explicit offset
 * ("2025-06-01T09:00:00Z", "...+02:00"). A time without an offset is refused: its meaning would
 * depend on the machine's local time zone.
 */
export function instantProblem(text: string): string | undefined {
  const m = INSTANT.exec(text);
  if (!m) {
    if (TIME_WITHOUT_ZONE.test(text))
      return `${JSON.stringify(text)} has no time zone: add "Z" or an offset like "+02:00"`;
    return `${JSON.stringify(text)} is not an ISO 8601 date or time (like "2025-06-01" or "2025-06-01T09:00:00Z")`;
  }
  const [, y, mo, d, h, mi, s, , oh, om] = m.map(Number) as number[];
  const bad =
    badCalendarDate(y!, mo!, d!) ||
    (m[4] !== undefined && (h! > 23 || mi! > 59 || (m[6] !== undefined && s! > 59))) ||
    (m[8] !== undefined && (oh! > 23 || om! > 59));
  if (bad || Number.isNaN(Date.parse(text))) return `${JSON.stringify(text)} is not a real date or time`;
  return undefined;
}

/** Epoch milliseconds of a valid instant (see instantProblem). */
export function instantMillis(text: string): number {
  return Date.parse(text);
}

/** A calendar date "YYYY-MM-DD". */
export function dateProblem(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not a date like "2025-12-31"`;
  if (badCalendarDate(Number(m[1]), Number(m[2]), Number(m[3])))
    return `${JSON.stringify(text)} is not a real date`;
  return undefined;
}

/** A semantic version, optionally with a leading "v": exactly what the engine can compare. */
export function isSemver(text: string): boolean {
  return parseSemver(text) !== undefined;
}

/** Minutes since midnight of an "HH:MM" time (format already checked by the schema). */
export function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** An IANA time zone name the runtime knows. */
export function timeZoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return undefined;
  } catch {
    return `unknown time zone ${JSON.stringify(zone)} (use an IANA name such as "Europe/Berlin" or "UTC")`;
  }
}

/** A pattern `matches` can use: short enough, and compiling with `new RegExp(pattern)`. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `regular expression is ${pattern.length} characters long; the limit is ${MAX_PATTERN_LENGTH}`;
  }
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    // V8 repeats the pattern ("Invalid regular expression: /(a/: ..."); keep only the reason.
    const reason = String((error as Error).message).replace(/^Invalid regular expression: \/.*\/\w*: /s, "");
    return `invalid regular expression ${JSON.stringify(pattern)}: ${reason}`;
  }
}
