/**
 * The root trust policy (src/policy/policy.ts): every problem of a policy file is reported where it
 * is, in one error; what a flag is (classOf); how many approvals it needs (the largest matching rule,
 * sticky classes included); whether a key's scope covers it (current and sticky class both).
 */
import { describe, expect, it } from "vitest";
import {
  classOf,
  globMatch,
  inScope,
  type KeyPolicy,
  keyPolicy,
  MAX_APPROVALS,
  type Policy,
  PolicyError,
  parsePolicy,
  requiredApprovals,
  selectorProblem,
} from "../../src/policy/policy";
import { SnapshotError } from "../../src/snapshot/errors";
import { loadKeyRing } from "../../src/snapshot/keys";
import { JWKS, KIDS, POLICY } from "./helpers";

const problemsOf = (input: unknown, known?: Iterable<string>): string[] => {
  try {
    parsePolicy(input, known);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).problems;
  }
  throw new Error("the policy was accepted");
};

const approver = { roles: ["approver"] };
const twoApprovers = { alice: approver, bob: approver };

describe("parsePolicy refuses, naming where", () => {
  // [what, policy, known kids (undefined: not checked), the one problem expected]
  const rows: [string, unknown, string[] | undefined, string][] = [
    ["text that is not JSON", "{keys:", undefined, "the policy is not JSON"],
    ["an array", [], undefined, 'the policy must be an object: {"keys": {...}, "approvals": {...}}'],
    ["null", null, undefined, 'the policy must be an object: {"keys": {...}, "approvals": {...}}'],
    ["JSON text of a string", '"keys"', undefined, "the policy must be an object"],
    [
      "an unknown top-level field",
      { keys: twoApprovers, approval: {} },
      undefined,
      "approval: unknown field (expected keys, approvals, revoked)",
    ],
    ["no keys", { approvals: {} }, undefined, "keys: must list at least one key id with its roles"],
    ["empty keys", { keys: {} }, undefined, "keys: must list at least one key id with its roles"],
    ["keys as a list", { keys: ["alice"] }, undefined, "keys: must list at least one key id with its roles"],
    [
      "a key entry that is not an object",
      { keys: { alice: "approver" } },
      undefined,
      'keys.alice: must be {"roles": [...], "scope"?: [...]}',
    ],
    [
      "an unknown field of a key",
      { keys: { alice: { roles: ["approver"], scopes: ["tag:x"] } } },
      undefined,
      "keys.alice.scopes: unknown field (expected roles, scope)",
    ],
    [
      "a key without roles",
      { keys: { alice: {} } },
      undefined,
      "keys.alice.roles: must list at least one of publisher, approver, oncall, preview",
    ],
    [
      "a key with an empty role list",
      { keys: { alice: { roles: [] } } },
      undefined,
      "keys.alice.roles: must list at least one of publisher, approver, oncall, preview",
    ],
    [
      "roles as a string",
      { keys: { alice: { roles: "approver" } } },
      undefined,
      "keys.alice.roles: must list at least one of publisher, approver, oncall, preview",
    ],
    [
      "an unknown role",
      { keys: { alice: { roles: ["approver", "admin"] } } },
      undefined,
      'keys.alice.roles: unknown role "admin" (roles: publisher, approver, oncall, preview)',
    ],
    [
      "a role of the wrong case",
      { keys: { alice: { roles: ["Publisher"] } } },
      undefined,
      'keys.alice.roles: unknown role "Publisher"',
    ],
    [
      "an empty scope",
      { keys: { alice: { roles: ["approver"], scope: [] } } },
      undefined,
      "keys.alice.scope: must be a non-empty list of selectors (omit it for every flag)",
    ],
    [
      "a scope that is not a list",
      { keys: { alice: { roles: ["approver"], scope: "tag:payments" } } },
      undefined,
      "keys.alice.scope: must be a non-empty list of selectors",
    ],
    [
      "a scope selector of an unknown kind",
      { keys: { alice: { roles: ["approver"], scope: ["team:web"] } } },
      undefined,
      'keys.alice.scope: "team:web" is not a selector (tag:NAME, owner:NAME, kind:NAME or flag:GLOB)',
    ],
    [
      "a scope selector with nothing after the colon",
      { keys: { alice: { roles: ["approver"], scope: ["flag:"] } } },
      undefined,
      'keys.alice.scope: "flag:" is not a selector',
    ],
    [
      "a scope selector that is not text",
      { keys: { alice: { roles: ["approver"], scope: [7] } } },
      undefined,
      "keys.alice.scope: 7 is not a selector",
    ],
    [
      "a key that is not in the JWKS",
      { keys: { alice: approver, zed: { roles: ["publisher"] } } },
      ["alice", "bob"],
      "keys.zed: no key with this kid in EDGEFLAGS_PUBLIC_KEYS",
    ],
    [
      "approvals that are not a map",
      { keys: twoApprovers, approvals: [["tag:payments", 2]] },
      undefined,
      'approvals: must map selectors to counts, e.g. {"tag:payments": 2}',
    ],
    [
      "an approval rule with a bad selector",
      { keys: twoApprovers, approvals: { payments: 2 } },
      undefined,
      'approvals: "payments" is not a selector (tag:NAME, owner:NAME, kind:NAME or flag:GLOB)',
    ],
    [
      "a count of 0",
      { keys: twoApprovers, approvals: { "tag:payments": 0 } },
      undefined,
      "approvals.tag:payments: must be a whole number from 1 to 10",
    ],
    [
      "a negative count",
      { keys: twoApprovers, approvals: { "tag:payments": -1 } },
      undefined,
      "approvals.tag:payments: must be a whole number from 1 to 10",
    ],
    [
      "a count above the maximum",
      { keys: twoApprovers, approvals: { "tag:payments": MAX_APPROVALS + 1 } },
      undefined,
      "approvals.tag:payments: must be a whole number from 1 to 10",
    ],
    [
      "a fractional count",
      { keys: twoApprovers, approvals: { "tag:payments": 1.5 } },
      undefined,
      "approvals.tag:payments: must be a whole number from 1 to 10",
    ],
    [
      "a count as text",
      { keys: twoApprovers, approvals: { "tag:payments": "2" } },
      undefined,
      "approvals.tag:payments: must be a whole number from 1 to 10",
    ],
    [
      "more approvals than approver keys",
      { keys: twoApprovers, approvals: { "tag:payments": 3 } },
      undefined,
      "approvals.tag:payments: needs 3 approvers but the policy has 2 unrevoked key(s) with the approver role",
    ],
    [
      "approvals counted without the revoked approvers",
      { keys: twoApprovers, approvals: { "tag:payments": 2 }, revoked: ["bob"] },
      undefined,
      "approvals.tag:payments: needs 2 approvers but the policy has 1 unrevoked key(s) with the approver role",
    ],
    [
      "approvals counting only approver keys",
      {
        keys: { alice: approver, ci: { roles: ["publisher", "oncall"] } },
        approvals: { "kind:permission": 2 },
      },
      undefined,
      "approvals.kind:permission: needs 2 approvers but the policy has 1 unrevoked key(s) with the approver role",
    ],
    [
      "a revoked list that is not a list",
      { keys: twoApprovers, revoked: "bob" },
      undefined,
      "revoked: must be a list of key ids",
    ],
    [
      "a revoked list with something else than key ids",
      { keys: twoApprovers, revoked: ["bob", 3] },
      undefined,
      "revoked: must be a list of key ids",
    ],
  ];
  it.each(rows)("%s", (_what, input, known, problem) => {
    const problems = problemsOf(input, known);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it("lists every problem in one error, in order", () => {
    const input = {
      keys: {
        alice: { roles: ["root"], scope: ["team:x"] },
        bob: { roles: ["approver"], extra: true },
        zed: { roles: ["publisher"] },
      },
      approvals: { "tag:payments": 11, nope: 1 },
      revoked: "alice",
      extra: 1,
    };
    const problems = problemsOf(input, ["alice", "bob"]);
    expect(problems).toEqual([
      "extra: unknown field (expected keys, approvals, revoked)",
      'keys.alice.roles: unknown role "root" (roles: publisher, approver, oncall, preview)',
      'keys.alice.scope: "team:x" is not a selector (tag:NAME, owner:NAME, kind:NAME or flag:GLOB)',
      "keys.bob.extra: unknown field (expected roles, scope)",
      "keys.zed: no key with this kid in EDGEFLAGS_PUBLIC_KEYS",
      "approvals.tag:payments: must be a whole number from 1 to 10",
      'approvals: "nope" is not a selector (tag:NAME, owner:NAME, kind:NAME or flag:GLOB)',
      "revoked: must be a list of key ids",
    ]);
    expect(() => parsePolicy(input)).toThrow(/^policy: extra: unknown field/);
  });

  it("through loadKeyRing: ERR_SNAPSHOT_NO_KEYS with the policy's problems", async () => {
    const bad = { ...POLICY, keys: { ...POLICY.keys, mallory: { roles: ["approver" as const] } } };
    const err = await loadKeyRing(JWKS, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).code).toBe("ERR_SNAPSHOT_NO_KEYS");
    expect((err as SnapshotError).message).toBe(
      "policy: keys.mallory: no key with this kid in EDGEFLAGS_PUBLIC_KEYS",
    );
    await expect(loadKeyRing(JWKS, "{")).rejects.toThrow("policy: the policy is not JSON");
  });
});

describe("parsePolicy accepts", () => {
  it("the matrix policy, as an object or as JSON text, against the JWKS", () => {
    for (const input of [POLICY, JSON.stringify(POLICY)]) {
      const p = parsePolicy(input, KIDS);
      expect([...p.keys.keys()]).toEqual(Object.keys(POLICY.keys));
      expect(p.keys.get("carol-payments")).toEqual({ roles: ["approver"], scope: ["owner:payments-team"] });
      expect(p.keys.get("alice")).toEqual({ roles: ["approver"] });
      expect(p.keys.get("alice")).not.toHaveProperty("scope");
      expect(p.approvals).toEqual([
        { selector: "tag:payments", count: 2 },
        { selector: "kind:permission", count: 2 },
      ]);
      expect([...p.revoked]).toEqual([]);
    }
  });

  it("$schema, duplicate roles (kept once), every selector kind, revoked kids, no approvals", () => {
    const p = parsePolicy({
      $schema: "./policy.schema.json",
      keys: {
        a: {
          roles: ["publisher", "oncall", "publisher"],
          scope: ["tag:x", "owner:y", "kind:ops", "flag:pay-*"],
        },
      },
      revoked: ["old", "a"],
    });
    expect(p.keys.get("a")).toEqual({
      roles: ["publisher", "oncall"],
      scope: ["tag:x", "owner:y", "kind:ops", "flag:pay-*"],
    });
    expect(p.approvals).toEqual([]);
    expect([...p.revoked]).toEqual(["old", "a"]);
    expect(keyPolicy(p, "a")).toBeUndefined();
    expect(keyPolicy(p, "nobody")).toBeUndefined();
  });

  it("without known kids, any kid; the maximum count with as many approvers", () => {
    const keys = Object.fromEntries(Array.from({ length: MAX_APPROVALS }, (_, i) => [`k${i}`, approver]));
    const p = parsePolicy({ keys, approvals: { "flag:*": MAX_APPROVALS } });
    expect(p.approvals).toEqual([{ selector: "flag:*", count: MAX_APPROVALS }]);
  });

  it("a selector is any of the four kinds with a non-empty name", () => {
    for (const s of ["tag:a", "owner:team b", "kind:permission", "flag:*", "tag:a:b"])
      expect(selectorProblem(s)).toBeUndefined();
    for (const s of ["tag:", "tags:a", "Tag:a", ":a", "a", "", null, 1])
      expect(selectorProblem(s)).toMatch(/is not a selector/);
  });
});

describe("classOf", () => {
  const rows: [string, Parameters<typeof classOf>[0], string[]][] = [
    ["nothing", {}, []],
    [
      "owner, kind, then tags in order",
      { tags: ["b", "a"], kind: "ops", owner: "web" },
      ["owner:web", "kind:ops", "tag:b", "tag:a"],
    ],
    ["only tags", { tags: ["payments"] }, ["tag:payments"]],
    ["non-text fields are ignored", { owner: 1, kind: null, tags: ["x", 2, null] }, ["tag:x"]],
    ["tags that are not a list are ignored", { tags: "payments" }, []],
  ];
  it.each(rows)("%s", (_what, flag, atoms) => {
    expect(classOf(flag)).toEqual(atoms);
  });
});

describe("requiredApprovals: the largest count of any matching rule", () => {
  const policy = parsePolicy({
    keys: Object.fromEntries(["a", "b", "c", "d"].map((k) => [k, approver])),
    approvals: { "tag:payments": 2, "kind:permission": 2, "flag:pay-*": 1, "owner:security": 3 },
  });
  // [what, key, atoms now, sticky, expected]
  const rows: [string, string, string[], string[] | undefined, number][] = [
    ["no rule matches", "banner", ["owner:web"], undefined, 0],
    ["by tag", "x", ["tag:payments"], undefined, 2],
    ["by kind", "x", ["kind:permission"], undefined, 2],
    ["by key glob", "pay-later", [], undefined, 1],
    ["key glob and tag: the larger", "pay-later", ["tag:payments"], undefined, 2],
    ["owner beats tag", "x", ["owner:security", "tag:payments"], undefined, 3],
    [
      "a selector is exact: tag:payment is not tag:payments",
      "x",
      ["tag:payment", "tag:payments-v2"],
      undefined,
      0,
    ],
    ["a tag is not an owner", "x", ["owner:payments"], undefined, 0],
    ["sticky: a removed tag still counts", "x", [], ["tag:payments"], 2],
    ["sticky: a changed owner still counts", "x", ["owner:web"], ["owner:security"], 3],
    ["sticky and now: the larger", "x", ["tag:payments"], ["owner:security"], 3],
    ["an empty sticky class adds nothing", "x", ["tag:payments"], [], 2],
    ["sticky does not matter to key globs", "misc", [], ["flag:pay-*"], 0],
  ];
  it.each(rows)("%s", (_what, key, atoms, sticky, expected) => {
    expect(requiredApprovals(policy, key, atoms, sticky)).toBe(expected);
  });

  it("no approval rules: nothing needs approvals", () => {
    const none: Policy = { keys: new Map(), approvals: [], revoked: new Set() };
    expect(requiredApprovals(none, "x", ["tag:payments"], ["kind:permission"])).toBe(0);
  });
});

describe("inScope", () => {
  const all: KeyPolicy = { roles: ["publisher"] };
  const web: KeyPolicy = { roles: ["publisher"], scope: ["owner:web-team"] };
  const webOrPay: KeyPolicy = { roles: ["approver"], scope: ["owner:web-team", "flag:pay-*"] };
  // [what, key, flag key, atoms now, sticky, expected]
  const rows: [string, KeyPolicy, string, string[], string[] | undefined, boolean][] = [
    ["no scope: every flag", all, "x", [], undefined, true],
    ["no scope: every flag, whatever it was", all, "x", ["owner:a"], ["owner:b"], true],
    ["in scope by owner", web, "x", ["owner:web-team"], undefined, true],
    ["out of scope", web, "x", ["owner:search-team"], undefined, false],
    ["no class at all: out of scope", web, "x", [], undefined, false],
    ["sticky in scope too", web, "x", ["owner:web-team"], ["owner:web-team", "tag:a"], true],
    ["moved into scope: the sticky class is not", web, "x", ["owner:web-team"], ["owner:search-team"], false],
    [
      "moved out of scope: the current class is not",
      web,
      "x",
      ["owner:search-team"],
      ["owner:web-team"],
      false,
    ],
    [
      "was unowned: an empty sticky class is covered by nothing but globs",
      web,
      "x",
      ["owner:web-team"],
      [],
      false,
    ],
    ["a key glob covers both whatever the class", webOrPay, "pay-x", ["owner:a"], ["owner:b"], true],
    ["either selector may cover each side", webOrPay, "pay-x", ["owner:web-team"], [], true],
    ["a key glob is anchored", webOrPay, "repay-x", [], undefined, false],
  ];
  it.each(rows)("%s", (_what, key, flagKey, atoms, sticky, expected) => {
    expect(inScope(key, flagKey, atoms, sticky)).toBe(expected);
  });
});

describe("globMatch", () => {
  const rows: [string, string, boolean][] = [
    ["", "", true],
    ["", "a", false],
    ["*", "", true],
    ["*", "anything", true],
    ["pay-*", "pay-", true],
    ["pay-*", "pay-later", true],
    ["pay-*", "repay-later", false],
    ["*-v2", "search-v2", true],
    ["*-v2", "search-v2-old", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxbyy", false],
    ["a**b", "ab", true],
    ["a*a*a", "aaaa", true],
    ["a*a*a", "aa", false],
    ["?", "a", false],
    ["a.b", "axb", false],
    ["a*", "A", false],
    ["*", "*", true],
    ["a*", "a*", true],
    ["a", "*", false],
  ];
  it.each(rows)("%j matches %j: %s", (glob, text, expected) => {
    expect(globMatch(glob, text)).toBe(expected);
  });

  it("never backtracks exponentially: many stars against long near-misses return at once", () => {
    const start = performance.now();
    expect(globMatch(`${"a*".repeat(2000)}b`, "a".repeat(20000))).toBe(false);
    // The worst case of one-star backtracking is the product of the lengths, not an exponential.
    expect(globMatch(`*${"a".repeat(1000)}b`, "a".repeat(20000))).toBe(false);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
