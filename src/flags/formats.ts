/**
 * Checks for the text formats a flags file uses: ISO 8601 instants and dates, semantic versions,
 * "HH:MM" times, IANA time zones, bounded regular expressions. Pure, no I/O. Each returns a reason
 * the value is wrong, or undefined when it is fine.
 */
import { isoDateMillis } from "../eval/dates";
import { regexHazard } from "../eval/regex-safety";
import { parseSemver } from "../eval/semver";
import { MAX_PATTERN_LENGTH } from "./defaults";

// The syntax a flags file may use; whether the date or time exists is the engine's own check
// (isoDateMillis), so the validator and evaluation never disagree on what is a real date.
const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const TIME_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An ISO 8601 date ("2025-06-01", midnight UTC) or instant with an explicit offset
 * ("2025-06-01T09:00:00Z", "...+02:00"). A time without an offset is refused: its meaning would
 * depend on the machine's local time zone.
 */
export function instantProblem(text: string): string | undefined {
  if (!INSTANT.test(text)) {
    if (TIME_WITHOUT_ZONE.test(text))
      return `${JSON.stringify(text)} has no time zone: add "Z" or an offset like "+02:00"`;
    return `${JSON.stringify(text)} is not an ISO 8601 date or time (like "2025-06-01" or "2025-06-01T09:00:00Z")`;
  }
  if (Number.isNaN(isoDateMillis(text))) return `${JSON.stringify(text)} is not a real date or time`;
  return undefined;
}

/** Epoch milliseconds of a valid instant (see instantProblem). */
export function instantMillis(text: string): number {
  return isoDateMillis(text);
}

/** A calendar date "YYYY-MM-DD". */
export function dateProblem(text: string): string | undefined {
  if (!DATE.test(text)) return `${JSON.stringify(text)} is not a date like "2025-12-31"`;
  if (Number.isNaN(isoDateMillis(text))) return `${JSON.stringify(text)} is not a real date`;
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

/**
 * A pattern `matches` can use: short enough, compiling with `new RegExp(pattern)`, and inside the
 * subset compile accepts (src/eval/regex-safety.ts), so a file that validates always compiles.
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `regular expression is ${pattern.length} characters long; the limit is ${MAX_PATTERN_LENGTH}`;
  }
  try {
    new RegExp(pattern);
  } catch (error) {
    // V8 repeats the pattern ("Invalid regular expression: /(a/: ..."); keep only the reason.
    const reason = String((error as Error).message).replace(/^Invalid regular expression: \/.*\/\w*: /s, "");
    return `invalid regular expression ${JSON.stringify(pattern)}: ${reason}`;
  }
  const hazard = regexHazard(pattern);
  return hazard && `unsafe regular expression ${JSON.stringify(pattern)}: ${hazard.reason}`;
}
