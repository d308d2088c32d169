import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { compareSemver, parseSemver } from "../../src/eval/semver";

function cmp(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (pa === undefined || pb === undefined) throw new Error(`invalid test version ${a} / ${b}`);
  return compareSemver(pa, pb);
}

describe("parseSemver", () => {
  it.each([
    "1.2.3",
    "v1.2.3",
    "0.0.0",
    "1.2.3-alpha",
    "1.2.3-alpha.1",
    "1.2.3-0.3.7",
    "1.2.3-x.7.z.92",
    "1.2.3+build.5",
    "1.2.3-rc.1+build.5",
    "1.0.0-alpha-a.b-c",
  ])("accepts %s", (v) => expect(parseSemver(v)).toBeDefined());

  it.each([
    "",
    "1",
    "1.2",
    "1.2.3.4",
    "01.2.3",
    "1.02.3",
    "1.2.03",
    "1.2.3-01",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-a..b",
    "V1.2.3",
    " 1.2.3",
    "1.2.3 ",
    "a.b.c",
    "9007199254740992.0.0",
    `1.2.3-${"a".repeat(300)}`,
  ])("rejects %j", (v) => expect(parseSemver(v)).toBeUndefined());
});

describe("compareSemver: SemVer 2.0.0 precedence", () => {
  // The spec's own example chain, plus build metadata and the "v" prefix.
  const chain = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
    "10.0.0",
  ];
  it.each(chain.slice(1).map((v, i) => [chain[i]!, v]))("%s < %s", (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });
  it.each([
    ["1.2.3+a", "1.2.3+b"],
    ["v1.2.3", "1.2.3"],
    ["1.2.3-rc.1+x", "1.2.3-rc.1"],
  ])("%s = %s", (a, b) => expect(cmp(a, b)).toBe(0));
});

describe("agrees with the semver package (oracle)", () => {
  const num = fc.oneof(fc.nat({ max: 20 }), fc.nat());
  const preId = fc.oneof(
    fc.nat({ max: 30 }).map(String),
    fc.stringMatching(/^[0-9a-zA-Z-]{0,4}[a-zA-Z-][0-9a-zA-Z-]{0,4}$/),
  );
  const version = fc
    .record({
      v: fc.boolean(),
      major: num,
      minor: num,
      patch: num,
      pre: fc.array(preId, { maxLength: 4 }),
      build: fc.array(fc.stringMatching(/^[0-9a-zA-Z-]{1,5}$/), { maxLength: 2 }),
    })
    .map(
      (r) =>
        `${r.v ? "v" : ""}${r.major}.${r.minor}.${r.patch}` +
        (r.pre.length > 0 ? `-${r.pre.join(".")}` : "") +
        (r.build.length > 0 ? `+${r.build.join(".")}` : ""),
    );

  it("on the order of any two valid versions", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(parseSemver(a)).toBeDefined();
        expect(cmp(a, b)).toBe(semver.compare(a, b));
      }),
      { numRuns: 5000 },
    );
  });

  it("on the order of close versions (shared prefixes exercise pre-release rules)", () => {
    const close = fc.record({
      patch: fc.nat({ max: 2 }),
      pre: fc.array(fc.constantFrom("0", "1", "2", "10", "a", "b", "alpha", "a-1", "-"), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(close, close, (x, y) => {
        const a = `1.0.${x.patch}${x.pre.length ? `-${x.pre.join(".")}` : ""}`;
        const b = `1.0.${y.patch}${y.pre.length ? `-${y.pre.join(".")}` : ""}`;
        expect(cmp(a, b)).toBe(semver.compare(a, b));
      }),
      { numRuns: 3000 },
    );
  });

  it("on what is a valid version (strings without surrounding spaces, which semver trims)", () => {
    const chars = fc.constantFrom(..."0123456789.-+vVab".split(""));
    fc.assert(
      fc.property(fc.oneof(version, fc.string({ unit: chars, maxLength: 14 })), (s) => {
        expect(parseSemver(s) !== undefined).toBe(semver.valid(s) !== null);
      }),
      { numRuns: 5000 },
    );
  });
});
