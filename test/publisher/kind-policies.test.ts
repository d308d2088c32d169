/**
 * The per-kind policy table, pinned by hand (not read back from src/publisher/kind-policies.ts): every
 * kind x every missing field, what lint reports and how severely; age, the owner budget, and how the
 * new rules flow through the publish ratchet (old debt warns, new debt blocks). Pure: lintDocument and
 * ratchet, no worker.
 */
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagKind, FlagsDocument } from "../../src/flags/types";
import { ratchet } from "../../src/publisher/guards/index";
import { type LintFinding, lintDocument } from "../../src/publisher/lint";

const NOW = Date.parse("2026-11-27T12:00:00Z");

/** A flag of `kind` carrying everything any kind needs, with a percentage rollout: lint-clean. */
const complete = (kind?: FlagKind): FlagDefinition => ({
  ...(kind ? { kind } : {}),
  description: "Complete.",
  owner: "web",
  expires: "2099-01-01",
  created: "2026-11-01",
  cleanupIssue: "WEB-12",
  runbook: "https://runbooks.example.com/x",
  dashboard: "https://grafana.example.com/d/x",
  fallthrough: { split: { on: 50, off: 50 } },
});

const lint = (flag: FlagDefinition, options = {}) =>
  lintDocument({ flags: { f: flag } }, NOW, options).map((f) => [f.rule, f.severity]);

type Missing = "owner" | "expires" | "cleanupIssue" | "runbook" | "dashboard" | "default off";
const without = (flag: FlagDefinition, missing: Missing): FlagDefinition => {
  if (missing === "default off") return { ...flag, fallthrough: "on" };
  const copy = { ...flag };
  delete copy[missing];
  return copy;
};

const KINDS: FlagKind[] = ["release", "experiment", "ops", "permission", "migration"];
const E = "error";
const W = "warning";
/** kind -> missing -> the one finding expected, or null for none. */
const TABLE: Record<FlagKind, Record<Missing, [string, string] | null>> = {
  release: {
    owner: ["missing-owner", E],
    expires: ["missing-expires", E],
    cleanupIssue: ["release-needs-cleanup-issue", E],
    runbook: null,
    dashboard: ["rollout-needs-dashboard", E],
    "default off": ["release-default-off", E],
  },
  experiment: {
    owner: ["missing-owner", E],
    expires: ["missing-expires", E],
    cleanupIssue: null,
    runbook: null,
    dashboard: ["rollout-needs-dashboard", E],
    "default off": null,
  },
  ops: {
    owner: ["missing-owner", W],
    expires: null,
    cleanupIssue: null,
    runbook: ["ops-needs-runbook", W],
    dashboard: ["rollout-needs-dashboard", W],
    "default off": null,
  },
  permission: {
    owner: ["missing-owner", W],
    expires: null,
    cleanupIssue: null,
    runbook: null,
    dashboard: ["rollout-needs-dashboard", W],
    "default off": null,
  },
  migration: {
    owner: ["missing-owner", W],
    expires: null,
    cleanupIssue: null,
    runbook: null,
    dashboard: ["rollout-needs-dashboard", W],
    "default off": null,
  },
};

const CASES = KINDS.flatMap((kind) =>
  (Object.keys(TABLE[kind]) as Missing[]).map((missing) => [kind, missing, TABLE[kind][missing]] as const),
);

describe("every kind x every missing field", () => {
  it.each(KINDS)("a complete %s flag has no findings", (kind) => {
    expect(lint(complete(kind))).toEqual([]);
  });

  it.each(CASES)("%s without %s", (kind, missing, expected) => {
    expect(lint(without(complete(kind), missing))).toEqual(expected ? [expected] : []);
  });

  it("a flag without a kind: missing-kind, and an unwatched rollout only warns", () => {
    expect(lint(complete())).toEqual([["missing-kind", W]]);
    expect(lint(without(complete(), "dashboard"))).toEqual([
      ["missing-kind", W],
      ["rollout-needs-dashboard", W],
    ]);
  });

  it("rollout-needs-dashboard points at the split: a rule's, or a later step's", () => {
    const flag: FlagDefinition = {
      ...without(complete("experiment"), "dashboard"),
      fallthrough: {
        split: { on: 0, off: 100 },
        steps: [{ at: "2027-01-01T00:00:00Z", split: { on: 10, off: 90 } }],
      },
    };
    expect(lintDocument({ flags: { f: flag } }, NOW)[0]?.path).toEqual(["flags", "f", "fallthrough"]);
    const byRule: FlagDefinition = {
      ...flag,
      fallthrough: "off",
      rules: [
        { when: [], serve: "on" },
        { when: [], serve: { split: { on: 1, off: 1 } } },
      ],
    };
    expect(
      lintDocument({ flags: { f: byRule } }, NOW).find((f) => f.rule === "rollout-needs-dashboard")?.path,
    ).toEqual(["flags", "f", "rules", 1, "serve"]);
    // All of the traffic to one variant is no percentage rollout.
    expect(lint({ ...flag, fallthrough: { split: { on: 100, off: 0 } } })).toEqual([]);
  });

  it("release-default-off takes the flag's own off variant, and a split fallthrough is a rollout", () => {
    const flag: FlagDefinition = {
      ...complete("release"),
      variants: { yes: true, no: false },
      offVariant: "no",
      fallthrough: "no",
    };
    expect(lint(flag)).toEqual([]);
    expect(lint({ ...flag, fallthrough: "yes" })).toEqual([["release-default-off", E]]);
  });
});

describe("age", () => {
  const old = { created: "2026-01-05", expires: "2020-01-01" };

  it.each<[FlagKind, string[]]>([
    ["release", ["expired", "stale"]],
    ["experiment", ["expired", "stale"]],
    ["migration", ["stale"]],
    ["ops", []],
    // Permission flags are never stale or expired by age, whatever dates they carry.
    ["permission", []],
  ])("an old %s flag: %j", (kind, rules) => {
    expect(lint({ ...complete(kind), ...old }).map(([rule]) => rule)).toEqual(rules);
  });

  it("stale is a warning after lint.staleAfterDays (default 90), counted from created", () => {
    const flag = { ...complete("migration"), created: "2026-08-28" }; // 91 days before NOW
    expect(lint(flag)).toEqual([["stale", W]]);
    expect(lint(flag, { staleAfterDays: 91 })).toEqual([]);
    expect(lint({ ...flag, created: undefined })).toEqual([]);
  });
});

describe("owner budget (lint.maxFlagsPerOwner)", () => {
  const doc: FlagsDocument = {
    flags: {
      a: complete("ops"),
      b: { ...complete("ops"), owner: "search" },
      c: complete("ops"),
      d: complete("ops"),
    },
  };

  it("off by default; over it, each flag past the budget is an error on its owner", () => {
    expect(lintDocument(doc, NOW)).toEqual([]);
    const findings = lintDocument(doc, NOW, { maxFlagsPerOwner: 2 });
    expect(findings).toEqual([
      {
        severity: "error",
        rule: "owner-over-budget",
        path: ["flags", "d", "owner"],
        message: expect.stringMatching(
          /^owner "web" has 3 flags, over the budget of 2 \(lint\.maxFlagsPerOwner\)/,
        ),
      },
    ]);
    expect(lintDocument(doc, NOW, { maxFlagsPerOwner: 3 })).toEqual([]);
  });
});

describe("the new rules through the publish ratchet", () => {
  const live: FlagsDocument = { flags: { legacy: without(complete("release"), "cleanupIssue") } };
  const errors = (findings: LintFinding[]) => findings.map((f) => `${f.rule} ${f.path[1]}`);

  it("debt already live warns; the same debt on a new flag blocks", () => {
    const next: FlagsDocument = {
      flags: {
        ...live.flags,
        fresh: without(without(complete("release"), "cleanupIssue"), "default off"),
      },
    };
    const { blocking, debt } = ratchet(lintDocument(next, NOW), lintDocument(live, NOW));
    expect(errors(debt)).toEqual(["release-needs-cleanup-issue legacy"]);
    expect(errors(blocking)).toEqual(["release-needs-cleanup-issue fresh", "release-default-off fresh"]);
  });

  it("a live flag made worse blocks; warnings never do", () => {
    const next: FlagsDocument = {
      flags: {
        legacy: without(without(complete("release"), "cleanupIssue"), "default off"),
        kill: without(complete("ops"), "runbook"),
      },
    };
    const { blocking, debt } = ratchet(lintDocument(next, NOW), lintDocument(live, NOW));
    expect(errors(debt)).toEqual(["release-needs-cleanup-issue legacy"]);
    expect(errors(blocking)).toEqual(["release-default-off legacy"]);
  });

  it("one more flag over the owner budget blocks; the overage already live does not", () => {
    const budget = { maxFlagsPerOwner: 1 };
    const before: FlagsDocument = { flags: { a: complete("ops"), b: complete("ops") } };
    const after: FlagsDocument = { flags: { ...before.flags, c: complete("ops") } };
    const same = ratchet(lintDocument(before, NOW, budget), lintDocument(before, NOW, budget));
    expect([same.blocking.length, same.debt.length]).toEqual([0, 1]);
    const more = ratchet(lintDocument(after, NOW, budget), lintDocument(before, NOW, budget));
    expect(errors(more.blocking)).toEqual(["owner-over-budget c"]);
  });
});
