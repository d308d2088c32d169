/**
 * The metadata fields (created, environments, rolloutPlan, dashboard, cleanupIssue, runbook): the
 * publisher's schema accepts them and refuses malformed ones at file:line:column, and the worker's
 * generated shape check accepts snapshots with and without them (all optional: old snapshots pass).
 */
import { describe, expect, it } from "vitest";
import { parseFlagsFile } from "../../src/flags/parse";
import { checkShape } from "../../src/flags/shape.generated";

const META = `flags:
  checkout:
    owner: web
    kind: release
    created: "2026-05-04"
    expires: "2026-12-31"
    environments: [staging, production]
    rolloutPlan: QA, then 10% -> 50% -> 100%.
    dashboard: https://grafana.example.com/d/checkout?orgId=1
    cleanupIssue: https://github.com/acme/shop/issues/12
    runbook: http://wiki.internal/runbooks/checkout
    fallthrough: off
`;

/** `META` with one line replaced. */
const withLine = (from: string, to: string) => {
  if (!META.includes(from)) throw new Error(`no line ${from}`);
  return META.replace(from, to);
};

describe("the metadata fields", () => {
  it("are accepted, and kept as written", () => {
    const { document, problems } = parseFlagsFile(META, "flags.yaml");
    expect(problems).toEqual([]);
    expect(document?.flags.checkout).toMatchObject({
      created: "2026-05-04",
      environments: ["staging", "production"],
      cleanupIssue: "https://github.com/acme/shop/issues/12",
    });
  });

  // Quoted: in YAML an unquoted `#12` starts a comment.
  it.each([
    '"#12"',
    "acme/shop#12",
    "SHOP-12",
    "https://jira.example.com/browse/SHOP-12",
  ])("cleanupIssue %s is an issue reference", (ref) => {
    expect(
      parseFlagsFile(withLine("https://github.com/acme/shop/issues/12", ref), "f.yaml").problems,
    ).toEqual([]);
  });

  it.each<[string, string, string, RegExp]>([
    ['created: "2026-05-04"', 'created: "May 4"', "5:14", /created "May 4" must look like a date YYYY-MM-DD/],
    ['created: "2026-05-04"', 'created: "2026-02-30"', "5:14", /created: /],
    [
      'created: "2026-05-04"',
      'created: "2027-01-01"',
      "6:14",
      /expires \(2026-12-31\) is before created \(2027-01-01\)/,
    ],
    [
      "environments: [staging, production]",
      "environments: []",
      "7:19",
      /environments must list at least one/,
    ],
    [
      "environments: [staging, production]",
      "environments: [staging, 'pro duction']",
      "7:29",
      /invalid environment name "pro duction"/,
    ],
    ["environments: [staging, production]", "environments: staging", "7:19", /environments must be a list/],
    [
      "dashboard: https://grafana.example.com/d/checkout?orgId=1",
      "dashboard: grafana/d/checkout",
      "9:16",
      /dashboard "grafana\/d\/checkout" must look like an http\(s\) URL/,
    ],
    [
      "runbook: http://wiki.internal/runbooks/checkout",
      "runbook: ftp://wiki/x",
      "11:14",
      /runbook "ftp:\/\/wiki\/x" must look like an http\(s\) URL/,
    ],
    [
      "cleanupIssue: https://github.com/acme/shop/issues/12",
      "cleanupIssue: someday",
      "10:19",
      /cleanupIssue "someday" must look like a URL or an issue reference/,
    ],
    [
      "rolloutPlan: QA, then 10% -> 50% -> 100%.",
      "rolloutPlan: [qa, ga]",
      "8:18",
      /rolloutPlan must be a string/,
    ],
    ["    owner: web\n", "    owner: web\n    purpose: Checkout.\n", "4:5", /unknown field "purpose"/],
  ])("refuses %s -> %s at its line", (from, to, place, message) => {
    const { document, problems } = parseFlagsFile(withLine(from, to), "flags.yaml");
    expect(document).toBeUndefined();
    expect(problems.map((p) => `${p.line}:${p.column}`)).toContain(place);
    expect(problems.map((p) => p.message).join("\n")).toMatch(message);
  });
});

describe("the worker's shape check", () => {
  const flag = { owner: "web", kind: "release", fallthrough: "off" };

  it("accepts an old snapshot without the fields and a new one with them", () => {
    expect(checkShape({ flags: { a: flag } })).toBeUndefined();
    const { document } = parseFlagsFile(META, "flags.yaml");
    expect(checkShape(document)).toBeUndefined();
  });

  it("refuses malformed ones, like the publisher's schema", () => {
    expect(checkShape({ flags: { a: { ...flag, environments: [] } } })).toMatchObject({
      path: ["flags", "a", "environments"],
    });
    expect(checkShape({ flags: { a: { ...flag, dashboard: "grafana" } } })).toMatchObject({
      path: ["flags", "a", "dashboard"],
    });
    expect(checkShape({ flags: { a: { ...flag, purpose: "x" } } })).toMatchObject({
      path: ["flags", "a", "purpose"],
    });
  });
});
