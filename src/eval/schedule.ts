/**
 * Schedules: active from/until and weekly windows in an IANA time zone. Local weekday and minute come
 * from one cached Intl.DateTimeFormat per zone and are memoised per `now`, so evaluating every flag for
 * one request formats the clock once per zone. Pure (the clock is an argument), no I/O.
 */
import { DEFAULT_TIMEZONE } from "../flags/defaults";
import type { Schedule, WeeklyWindow } from "../flags/types";
import { isoDateMillis } from "./dates";
import { CompileError } from "./errors";

const DAY_INDEX: Readonly<Record<string, number>> = {
  mon: 0,
  tue: 1,
  wed: 2,
  thu: 3,
  fri: 4,
  sat: 5,
  sun: 6,
};
const SHORT_DAY_INDEX: Readonly<Record<string, number>> = {
  Mon: 0,
  Tue: 1,
  Wed: 2,
  Thu: 3,
  Fri: 4,
  Sat: 5,
  Sun: 6,
};
const DAY_MS = 86_400_000;
const HHMM_RE = /^(\d{2}):(\d{2})$/;

/**
 * The local clock of one time zone. Shared by every flag using the zone; the memo is invisible from
 * outside (same `now` in, same answer out), so a compiled snapshot stays observably immutable.
 */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat | null;
  private memoNow = Number.NaN;
  private memoDay = 0;
  private memoMinute = 0;

  constructor(readonly timeZone: string) {
    // UTC needs no formatter: plain arithmetic is exact and much cheaper.
    this.format =
      timeZone === DEFAULT_TIMEZONE
        ? null
        : new Intl.DateTimeFormat("en-US", {
            timeZone,
            hourCycle: "h23",
            weekday: "short",
            hour: "2-digit",
            minute: "2-digit",
          });
  }

  /** Local weekday (0 = Monday) and minute of the day at `now`, memoised for the last `now`. */
  private at(now: number): void {
    if (now === this.memoNow) return;
    if (this.format === null) {
      const days = Math.floor(now / DAY_MS);
      this.memoDay = (((days + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
      this.memoMinute = Math.floor((now - days * DAY_MS) / 60_000);
    } else {
      let day = 0;
      let hour = 0;
      let minute = 0;
      for (const part of this.format.formatToParts(now)) {
        if (part.type === "weekday") day = SHORT_DAY_INDEX[part.value] ?? 0;
        else if (part.type === "hour") hour = Number(part.value) % 24;
        else if (part.type === "minute") minute = Number(part.value);
      }
      this.memoDay = day;
      this.memoMinute = hour * 60 + minute;
    }
    this.memoNow = now;
  }

  /** Local weekday at `now` (0 = Monday). */
  dayAt(now: number): number {
    this.at(now);
    return this.memoDay;
  }

  /** Local minute of the day at `now`. */
  minuteAt(now: number): number {
    this.at(now);
    return this.memoMinute;
  }
}

/** A weekly window: a day mask (bit 0 = Monday) and [start, end) in local minutes. */
interface CompiledWindow {
  readonly days: number;
  readonly start: number;
  readonly end: number;
}

/** A compiled schedule: bounds in epoch ms (NaN-free; +-Infinity when open) and optional windows. */
export interface CompiledSchedule {
  readonly from: number;
  readonly until: number;
  readonly clock: ZoneClock | null;
  readonly windows: readonly CompiledWindow[];
}

/**
 * Epoch ms of an ISO 8601 instant that exists (no 30 February); a date-time must carry its offset,
 * as the validator requires. Throws CompileError.
 */
export function parseInstant(value: string, path: string): number {
  const ms = isoDateMillis(value);
  if (Number.isNaN(ms) || (value.length > 10 && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(value))) {
    throw new CompileError("INVALID_DATE", path, `invalid ISO 8601 instant ${JSON.stringify(value)}`);
  }
  return ms;
}

function parseMinute(hhmm: string, path: string): number {
  const m = HHMM_RE.exec(hhmm);
  const minutes = m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2]);
  if (m === null || Number(m[2]) > 59 || minutes > 1440) {
    throw new CompileError("INVALID_WINDOW", path, `invalid time ${JSON.stringify(hhmm)}`);
  }
  return minutes;
}

function compileWindow(w: WeeklyWindow, path: string): CompiledWindow {
  let days = 0;
  for (const d of w.days) {
    const i = DAY_INDEX[d];
    if (i === undefined) throw new CompileError("INVALID_WINDOW", path, `invalid day ${JSON.stringify(d)}`);
    days |= 1 << i;
  }
  const start = parseMinute(w.start, `${path}.start`);
  const end = parseMinute(w.end, `${path}.end`);
  if (start === end) throw new CompileError("INVALID_WINDOW", path, "window start equals end");
  return { days, start, end };
}

/** Compiles a schedule, sharing one ZoneClock per time zone through `clocks`. */
export function compileSchedule(s: Schedule, path: string, clocks: Map<string, ZoneClock>): CompiledSchedule {
  const from = s.from === undefined ? Number.NEGATIVE_INFINITY : parseInstant(s.from, `${path}.from`);
  const until = s.until === undefined ? Number.POSITIVE_INFINITY : parseInstant(s.until, `${path}.until`);
  const windows = (s.windows ?? []).map((w, i) => compileWindow(w, `${path}.windows[${i}]`));
  let clock: ZoneClock | null = null;
  if (s.windows !== undefined) {
    const tz = s.timezone ?? DEFAULT_TIMEZONE;
    clock = clocks.get(tz) ?? null;
    if (clock === null) {
      try {
        clock = new ZoneClock(tz);
      } catch {
        throw new CompileError(
          "INVALID_TIMEZONE",
          `${path}.timezone`,
          `unknown time zone ${JSON.stringify(tz)}`,
        );
      }
      clocks.set(tz, clock);
    }
  }
  return { from, until, clock, windows };
}

/** Whether the schedule is active at `now`: inside [from, until) and, if it has windows, in one. */
export function scheduleActive(s: CompiledSchedule, now: number): boolean {
  if (now < s.from || now >= s.until) return false;
  const clock = s.clock;
  if (clock === null) return true;
  const day = clock.dayAt(now);
  const minute = clock.minuteAt(now);
  const yesterday = (day + 6) % 7;
  for (const w of s.windows) {
    if (w.start < w.end) {
      if ((w.days & (1 << day)) !== 0 && minute >= w.start && minute < w.end) return true;
    } else if (
      // An overnight window (22:00-02:00) belongs to the day it starts on.
      ((w.days & (1 << day)) !== 0 && minute >= w.start) ||
      ((w.days & (1 << yesterday)) !== 0 && minute < w.end)
    ) {
      return true;
    }
  }
  return false;
}
