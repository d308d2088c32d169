/**
 * Dates that do not exist are not dates: "2026-02-29", "2026-06-31" or "T25:00" never match `before` or
 * `after` (Date.parse would roll them over into the next month or day), and the engine and the
 * validator agree on what is real because they share one check (src/eval/dates.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoDateMillis, isRealDate } from "../../src/eval/dates";
import { CompileError, compile, evaluate } from "../../src/eval/index";
import { toEpochMs } from "../../src/eval/operators";
import { dateProblem, instantProblem } from "../../src/flags/formats";
import type { FlagsDocument } from "../../src/flags/types";
import { NOW } from "./helpers";

/** One flag per bound: rule "before" if the attribute `d` is before it, rule "after" if after. */
function comparing(bound: string): (value: unknown) => string | undefined {
  const doc: FlagsDocument = {
    flags: {
      f: {
        rules: [
          { id: "before", when: [{ attribute: "d", op: "before", values: [bound] }], serve: "on" },
          { id: "after", when: [{ attribute: "d", op: "after", values: [bound] }], serve: "on" },
        ],
        fallthrough: "off",
      },
    },
  };
  const c = compile(doc);
  return (d) => {
    const r = evaluate(c, "f", { targetingKey: "u", attributes: { d } }, NOW);
    return r.ruleId === "fallthrough" ? undefined : r.ruleId;
  };
}

const around2026 = comparing("2026-01-01T00:00:00Z");

describe("impossible dates and times match neither before nor after", () => {
  it.each([
    "2026-02-29", // not a leap year
    "2026-06-31",
    "2026-04-31",
    "2026-02-30T00:00:00Z",
    "2100-02-29", // divisible by 100, not by 400
    "1900-02-29T12:00:00Z",
    "2026-13-01",
    "2026-00-10",
    "2026-01-00",
    "2026-01-32",
    "2026-01-01T25:00:00Z",
    "2026-01-01T24:00:00Z", // 24:00 is not a time of day here, as the validator says
    "2026-01-01T23:60:00Z",
    "2026-01-01T23:59:60Z", // no leap seconds
    "2026-01-01T10:00:00+24:00",
    "2026-01-01T10:00:00+05:60",
    "2026-01-01T10:00:00+0560",
    "2025-12-31T99:00",
    "2026-1-01",
    "2026-01-01T",
    "2026-01-01T10:00:00.Z",
    "2026-01-01T10:00:00Zjunk",
  ])("%s", (value) => {
    expect(around2026(value)).toBeUndefined();
    expect(toEpochMs(value)).toBeNaN();
  });
});

describe("real dates and times compare by the moment they name", () => {
  it.each<[string, "before" | "after"]>([
    ["2024-02-29", "before"], // leap year
    ["2000-02-29T23:59:59Z", "before"], // divisible by 400
    ["2028-02-29", "after"],
    ["2025-12-31T23:59:59.999Z", "before"],
    ["2026-01-01T00:00:00.001Z", "after"],
    ["2026-01-01T00:30:00+01:00", "before"], // 2025-12-31T23:30Z
    ["2025-12-31T23:30:00-01:00", "after"], // 2026-01-01T00:30Z
    ["2026-01-01T00:30:00+0100", "before"],
    ["2025-12-31T23:59:59", "before"], // no offset: read as UTC
    ["2026-01-01 00:00:01z", "after"],
    ["2026-01-01t00:00:00.5", "after"],
    ["2025-12-31T23:59:59.9999999Z", "before"], // digits past milliseconds are dropped
    ["1767225600001", "after"], // epoch milliseconds as digits
  ])("%s is %s 2026-01-01T00:00:00Z", (value, expected) => {
    expect(around2026(value)).toBe(expected);
  });

  it("the moment itself is neither before nor after it", () => {
    expect(around2026("2026-01-01")).toBeUndefined();
    expect(around2026("2026-01-01T01:00:00+01:00")).toBeUndefined();
    expect(around2026(Date.UTC(2026, 0, 1))).toBeUndefined();
  });
});

describe("the validator and compile refuse what evaluation would never match", () => {
  it.each([
    "2026-02-29",
    "2026-06-31T10:00:00Z",
    "2026-01-01T25:00:00Z",
    "2026-01-01T10:00:00+24:00",
  ])("%s", (value) => {
    expect(instantProblem(value)).toBe(`${JSON.stringify(value)} is not a real date or time`);
    const at = "flags.f.rules[0].when[0]";
    const cond = {
      flags: {
        f: {
          rules: [{ when: [{ attribute: "d", op: "after" as const, values: [value] }], serve: "on" }],
          fallthrough: "off",
        },
      },
    };
    expect(() => compile(cond)).toThrow(new CompileError("INVALID_DATE", at, 'operator "after" needs dates'));
    expect(() => compile({ flags: { f: { schedule: { from: value }, fallthrough: "on" } } })).toThrow(
      CompileError,
    );
    const step = { split: { on: 1 }, steps: [{ at: value, split: { on: 1 } }] };
    expect(() => compile({ flags: { f: { fallthrough: step } } })).toThrow(CompileError);
  });

  it("dateProblem calls the impossible ones not real, the rest fine", () => {
    expect(dateProblem("2026-02-29")).toBe('"2026-02-29" is not a real date');
    expect(dateProblem("2100-02-29")).toBe('"2100-02-29" is not a real date');
    expect(dateProblem("2024-02-29")).toBeUndefined();
    expect(dateProblem("2000-02-29")).toBeUndefined();
  });
});

/** The moment a date-time names, computed by Date from its fields, or undefined when a field overflows. */
function reference(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, offsetMinutes = 0) {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // unlike Date.UTC, years 0-99 stay years 0-99
  date.setUTCHours(h, mi, s, 0);
  const real =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return real ? date.getTime() - offsetMinutes * 60_000 : undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const BOUNDS = ["1999-06-15T12:34:56.789Z", "2026-03-01T00:00:00.001Z", "0001-01-01T00:00:00.001Z"];
const comparers = BOUNDS.map((b) => [Date.parse(b), comparing(b)] as const);

describe("property: a string is a date iff it names a real moment, and compares like it", () => {
  it("YYYY-MM-DD for arbitrary year, month and day", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, mo, d) => {
          const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
          const ms = reference(y, mo, d);
          expect(isRealDate(y, mo, d)).toBe(ms !== undefined);
          expect(isoDateMillis(text)).toBe(ms ?? Number.NaN);
          // The validator says "real" exactly when the engine treats the text as a date.
          expect(dateProblem(text) === undefined).toBe(ms !== undefined);
          for (const [boundMs, compare] of comparers) {
            const expected = ms === undefined ? undefined : ms < boundMs ? "before" : "after";
            expect(compare(text)).toBe(expected);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("the same around leap days and month ends, where rolling over would hide", () => {
    const years = fc.oneof(
      fc.constantFrom(1900, 2000, 2024, 2025, 2026, 2100, 2400),
      fc.integer({ min: 0, max: 9999 }),
    );
    fc.assert(
      fc.property(years, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 28, max: 31 }), (y, mo, d) => {
        const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
        const ms = reference(y, mo, d);
        expect(isoDateMillis(text)).toBe(ms ?? Number.NaN);
        expect(comparers[1]![1](text)).toBe(
          ms === undefined ? undefined : ms < comparers[1]![0] ? "before" : "after",
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("date-times with offsets, including out-of-range hours, minutes, seconds and offsets", () => {
    fc.assert(
      fc.property(
        fc.record({
          y: fc.integer({ min: 0, max: 9999 }),
          mo: fc.integer({ min: 1, max: 12 }),
          d: fc.integer({ min: 1, max: 31 }),
          h: fc.integer({ min: 0, max: 25 }),
          mi: fc.integer({ min: 0, max: 61 }),
          s: fc.integer({ min: 0, max: 61 }),
          sign: fc.constantFrom("+", "-", "Z"),
          oh: fc.integer({ min: 0, max: 25 }),
          om: fc.integer({ min: 0, max: 61 }),
        }),
        ({ y, mo, d, h, mi, s, sign, oh, om }) => {
          const zone = sign === "Z" ? "Z" : `${sign}${pad(oh)}:${pad(om)}`;
          const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${zone}`;
          const offsetOk = sign === "Z" || (oh < 24 && om < 60);
          const offset = sign === "Z" ? 0 : (sign === "+" ? 1 : -1) * (oh * 60 + om);
          const ms = offsetOk ? reference(y, mo, d, h, mi, s, offset) : undefined;
          expect(isoDateMillis(text)).toBe(ms ?? Number.NaN);
          expect(instantProblem(text) === undefined).toBe(ms !== undefined);
          // Where both can read it, the engine agrees with the platform's own parser.
          if (ms !== undefined) expect(ms).toBe(Date.parse(text));
          for (const [boundMs, compare] of comparers) {
            expect(compare(text)).toBe(
              ms === undefined || ms === boundMs ? undefined : ms < boundMs ? "before" : "after",
            );
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
