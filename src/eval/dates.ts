/**
 * Reading ISO 8601 dates and date-times into epoch milliseconds: the one real-date check, shared by
 * the engine (attribute values, condition values, schedules) and the validator (src/flags/formats.ts).
 * A scanner over character codes rather than Date.parse: Date.parse rolls "2026-02-30" over into March
 * and reads non-standard forms differently in each runtime; this allocates nothing and answers the
 * same everywhere. Pure, no I/O.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Whether `year` (proleptic Gregorian) has a 29 February. */
function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Days in `month` (1-12) of `year`. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whether year-month-day names a day of the calendar: "2024-02-29" does, "2026-02-29" and "2026-06-31" do not. */
export function isRealDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    month >= 1 &&
    month <= 12 &&
    Number.isInteger(month) &&
    day >= 1 &&
    Number.isInteger(day) &&
    day <= daysInMonth(year, month)
  );
}

/** Days from 1970-01-01 to a real date (proleptic Gregorian, any year; H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The decimal digit at `i`, or -1 (also past the end). */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Two decimal digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * Epoch milliseconds of an ISO 8601 date or date-time, or NaN when the text is not one or names a
 * moment that does not exist (30 February, 25:00, minute 60, an offset of 24 hours or more).
 * Accepted: `YYYY-MM-DD` (midnight UTC), then optionally `T` (or `t`, or a space) `HH:MM`, `:SS`,
 * `.fraction` (milliseconds; further digits are dropped), and an offset `Z`/`z`, `+HH:MM` or `+HHMM`.
 * A date-time without an offset is read as UTC, so the answer never depends on the host's zone
 * (where an offset is required, the caller checks for one).
 */
export function isoDateMillis(s: string): number {
  const n = s.length;
  if (n < 10) return Number.NaN;
  const y0 = digit(s, 0);
  const y1 = digit(s, 1);
  const y2 = digit(s, 2);
  const y3 = digit(s, 3);
  if (y0 < 0 || y1 < 0 || y2 < 0 || y3 < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) {
    return Number.NaN;
  }
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (!isRealDate(year, month, day)) return Number.NaN;
  const days = daysFromCivil(year, month, day);
  if (n === 10) return days * DAY_MS;

  // T, t or a space, then HH:MM
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 116 && sep !== 32) || s.charCodeAt(13) !== 58) return Number.NaN;
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return Number.NaN;
  let i = 16;
  let second = 0;
  let ms = 0;
  if (s.charCodeAt(i) === 58) {
    second = twoDigits(s, i + 1);
    if (second < 0 || second > 59) return Number.NaN;
    i += 3;
    if (s.charCodeAt(i) === 46) {
      const start = ++i;
      for (; digit(s, i) >= 0; i++) if (i - start < 3) ms = ms * 10 + digit(s, i);
      if (i === start) return Number.NaN;
      // ".5" is 500 ms and ".05" 50; digits past the third are dropped, as Date.parse does.
      for (let k = i - start; k < 3; k++) ms *= 10;
    }
  }

  let offset = 0;
  if (i < n) {
    const c = s.charCodeAt(i);
    if (c === 90 || c === 122) {
      if (i + 1 !== n) return Number.NaN;
    } else if (c === 43 || c === 45) {
      const oh = twoDigits(s, i + 1);
      const colon = s.charCodeAt(i + 3) === 58;
      const om = twoDigits(s, colon ? i + 4 : i + 3);
      if (i + (colon ? 6 : 5) !== n || oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
      offset = (c === 43 ? 1 : -1) * (oh * 60 + om);
    } else {
      return Number.NaN;
    }
  }
  return days * DAY_MS + (hour * 60 + minute - offset) * MINUTE_MS + second * 1000 + ms;
}
