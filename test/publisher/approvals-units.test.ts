/**
 * The publisher's approval pieces without a worker: which approval groups a snapshot carries (kept,
 * merged, dropped), how a proposal's manifest is compared with a document, the per-item lines people
 * read, where proposals and the policy file are found, and what a kill's prerequisites imply.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { type ApprovalGroup, signatureKid } from "../../src/policy/approvals";
import type { CoverageReport, ItemCoverage } from "../../src/policy/check";
import { approveGroup, groupOf, manifestOf } from "../../src/policy/manifest";
import { carryApprovals, manifestDifferences, mergeGroups, sameContent } from "../../src/publisher/approvals";
import { killedPrerequisites } from "../../src/publisher/commands/kill";
import { resolveSettings } from "../../src/publisher/config";
import { coverageLines, loadPolicy, reportSigner } from "../../src/publisher/policy";
import { defaultProposalPath } from "../../src/publisher/proposal";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey } from "../../src/snapshot/sign";
import { fixtureKeys, POLICY } from "./approvals-helpers";

const fixture = fixtureKeys;
const ring = await loadKeyRing({ keys: ["ci-publisher", "alice", "bob"].map((k) => fixture[k]?.public) });
const signers = Object.fromEntries(
  await Promise.all(
    ["ci-publisher", "alice", "bob"].map(
      async (k) => [k, await importSigningKey(fixture[k]!.private)] as const,
    ),
  ),
);

const flag = (over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  owner: "payments",
  tags: ["payments"],
  fallthrough: "on",
  ...over,
});
const doc = (flags: Record<string, FlagDefinition>): FlagsDocument => ({ flags });

/** A group of `d`'s manifest for `env`, signed by `kids`. */
async function signed(d: FlagsDocument, kids: string[], env = "prod", at = 0): Promise<ApprovalGroup> {
  let g = groupOf(await manifestOf(d, { environment: env, now: at }));
  for (const kid of kids) g = await approveGroup(g, signers[kid]!);
  return g;
}
const kidsOf = (groups: ApprovalGroup[]) => groups.map((g) => g.signatures.map((s) => signatureKid(s)));

const v1 = doc({ pay: flag(), web: flag({ owner: "web", tags: [] }) });
const v2 = doc({ pay: flag(), web: flag({ owner: "web", tags: [], fallthrough: "off" }) });
const allNew = doc({
  pay: flag({ fallthrough: "off" }),
  web: flag({ owner: "web", tags: [], description: "x" }),
});
const killed = doc({ pay: flag({ enabled: false }), web: v1.flags.web! });
const killedOtherOff = doc({
  pay: flag({ enabled: false, variants: { on: true, off: false, dark: false }, offVariant: "dark" }),
  web: v1.flags.web!,
});

describe("carryApprovals: what a new snapshot keeps", () => {
  it.each<[string, FlagsDocument, () => Promise<ApprovalGroup[]>, (string | undefined)[][], number]>([
    [
      "a group attesting nothing current is dropped",
      allNew,
      async () => [await signed(allNew, ["ci-publisher"]), await signed(v1, ["alice", "bob"])],
      [["ci-publisher"]],
      1,
    ],
    [
      "an older group of the same key says nothing new and is dropped",
      v2,
      async () => [
        await signed(v2, ["ci-publisher"], "prod", 2),
        await signed(v1, ["ci-publisher"], "prod", 1),
      ],
      [["ci-publisher"]],
      1,
    ],
    [
      "other keys' approvals of unchanged flags are kept",
      v2,
      async () => [await signed(v2, ["ci-publisher"]), await signed(v1, ["alice", "bob"])],
      [["ci-publisher"], ["alice", "bob"]],
      0,
    ],
    [
      "a killed flag keeps the approval of its definition (its off value is the approved one)",
      doc({ pay: killed.flags.pay! }),
      async () => [
        await signed(doc({ pay: killed.flags.pay! }), ["ci-publisher"]),
        await signed(doc({ pay: flag() }), ["alice"]),
      ],
      [["ci-publisher"], ["alice"]],
      0,
    ],
    [
      "... but not when the kill serves another off value",
      doc({ pay: killedOtherOff.flags.pay! }),
      async () => [
        await signed(doc({ pay: killedOtherOff.flags.pay! }), ["ci-publisher"]),
        await signed(doc({ pay: flag() }), ["alice"]),
      ],
      [["ci-publisher"]],
      1,
    ],
    [
      "a group for another environment is dropped",
      v1,
      async () => [await signed(v1, ["ci-publisher"]), await signed(v1, ["alice"], "staging")],
      [["ci-publisher"]],
      1,
    ],
    [
      "the same manifest twice is one group, each key's signature once",
      v1,
      async () => {
        const g = await signed(v1, ["alice"]);
        const withBob = await approveGroup(
          groupOf(await manifestOf(v1, { environment: "prod", now: 0 })),
          signers.bob!,
        );
        return [g, withBob, g];
      },
      [["alice", "bob"]],
      0,
    ],
  ])("%s", async (_name, current, groups, expected, dropped) => {
    const result = await carryApprovals({
      doc: current,
      environment: "prod",
      groups: await groups(),
      keys: ring,
    });
    expect(kidsOf(result.groups)).toEqual(expected);
    expect(result.dropped).toBe(dropped);
    expect(result.invalid).toEqual([]);
  });

  it("drops a signature that does not verify with a key this publisher has, and keeps unknown keys' ones", async () => {
    const good = await signed(v1, ["alice"]);
    const carol = await approveGroup(good, await importSigningKey(fixture["carol-payments"]!.private));
    const forged: ApprovalGroup = {
      payload: carol.payload,
      signatures: carol.signatures.map((s) =>
        signatureKid(s) === "alice" ? { ...s, signature: `${s.signature.slice(0, -4)}AAAA` } : s,
      ),
    };
    const result = await carryApprovals({ doc: v1, environment: "prod", groups: [forged], keys: ring });
    expect(kidsOf(result.groups)).toEqual([["carol-payments"]]);
    expect(result.invalid).toEqual(["a signature of alice does not verify"]);
  });

  it("mergeGroups keeps the order of first appearance", async () => {
    const a = await signed(v1, ["alice"]);
    const b = await signed(v2, ["bob"]);
    expect(kidsOf(mergeGroups([a, b, { ...a, signatures: [] }]))).toEqual([["alice"], ["bob"]]);
  });
});

describe("comparing a proposal's manifest with a document", () => {
  it.each<[string, FlagsDocument, FlagsDocument, string[]]>([
    ["the same document", v1, v1, []],
    ["a changed flag", v2, v1, ["flags.web: the approved definition is another one"]],
    [
      "a flag not approved",
      doc({ ...v1.flags, extra: flag() }),
      v1,
      ["flags.extra: not in the approved manifest"],
    ],
    ["a flag approved but gone", doc({ pay: flag() }), v1, ["flags.web: approved, but not in the document"]],
  ])("%s", async (_name, actual, approved, lines) => {
    const a = await manifestOf(actual, { environment: "prod" });
    const b = await manifestOf(approved, { environment: "prod", note: "elsewhere", now: 1 });
    expect(manifestDifferences(a, b)).toEqual(lines);
    expect(sameContent(a, b)).toBe(lines.length === 0);
  });
});

describe("what each item needs, in words", () => {
  const item = (over: Partial<ItemCoverage>): ItemCoverage => ({
    item: "flags.pay",
    needs: 2,
    by: [],
    offOnly: false,
    ok: false,
    candidates: ["alice", "bob"],
    ...over,
  });
  const report = (items: ItemCoverage[], problems: string[] = []): CoverageReport => ({
    ok: false,
    problems,
    items,
    ignored: [],
  });
  it.each<[string, CoverageReport, string[]]>([
    [
      "two approvals needed, one given",
      report(
        [item({ by: ["alice"] })],
        ["flags.pay: needs 2 approvals by distinct approver keys in scope, has 1 (alice)"],
      ),
      ["flags.pay: needs 2 approvals by distinct approver keys, has 1 (alice); can approve: alice, bob"],
    ],
    [
      "one approval, nobody can give it",
      report([item({ needs: 1, candidates: [] })]),
      ["flags.pay: needs 1 approval by distinct approver keys, has 0; can approve: none in the policy"],
    ],
    [
      "no rule, signer out of scope",
      report([item({ needs: 0 })]),
      [
        "flags.pay: needs an approval by a publisher or approver key whose scope covers it, has none; can approve: alice, bob",
      ],
    ],
    [
      "attested, but an on-call key out of scope: the check's own words",
      report(
        [item({ needs: 0, by: ["ci-publisher"], offOnly: true })],
        ["flags.pay: disabled by on-call key oncall, whose scope does not cover it"],
      ),
      ["flags.pay: disabled by on-call key oncall, whose scope does not cover it"],
    ],
    [
      "a problem with the signer itself",
      report(
        [],
        [
          "the snapshot's signing key qa-preview may not sign snapshots (roles: preview; needs publisher or oncall)",
        ],
      ),
      [
        "the snapshot's signing key qa-preview may not sign snapshots (roles: preview; needs publisher or oncall)",
      ],
    ],
    ["items that are fine print nothing", report([item({ ok: true, by: ["alice", "bob"] })]), []],
  ])("%s", (_name, r, lines) => {
    expect(coverageLines(r)).toEqual(lines);
  });
});

describe("proposal files and the policy setting", () => {
  it.each([
    ["flags.yaml", "flags.proposal.json"],
    ["config/flags.yml", "config/flags.proposal.json"],
    ["flags.json", "flags.proposal.json"],
    ["flags", "flags.proposal.json"],
  ])("propose %s writes %s by default", (file, expected) => {
    expect(defaultProposalPath(join("/p", file))).toBe(join("/p", expected));
  });

  const dir = mkdtempSync(join(tmpdir(), "edgeflags-policy-setting-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ policyFile: "from-config.json" }));
  writeFileSync(join(dir, "from-config.json"), JSON.stringify(POLICY));
  writeFileSync(join(dir, "from-env.json"), JSON.stringify({ keys: { a: { roles: ["publisher"] } } }));
  writeFileSync(
    join(dir, "broken.json"),
    JSON.stringify({ keys: { a: { roles: ["boss"] } }, approvals: { x: 1 } }),
  );
  const settings = (options: Record<string, string>, env: Record<string, string> = {}) =>
    resolveSettings({ config: "config.json", ...options }, env, dir);

  it.each<[string, Record<string, string>, Record<string, string>, string | undefined]>([
    ["policyFile in the config file, relative to it", {}, {}, "from-config.json"],
    [
      "EDGEFLAGS_POLICY_FILE over the config file",
      {},
      { EDGEFLAGS_POLICY_FILE: "from-env.json" },
      "from-env.json",
    ],
    [
      "--policy over both",
      { policy: "from-config.json" },
      { EDGEFLAGS_POLICY_FILE: "from-env.json" },
      "from-config.json",
    ],
  ])("%s", (_name, options, env, file) => {
    const s = settings(options, env);
    expect(s.policy?.source).toContain(join(dir, file as string));
    expect(s.policy?.json).toBe(readFileSync(join(dir, file as string), "utf8"));
  });

  it("EDGEFLAGS_PUBLIC_KEYS_FILE names the JWKS whose keys count approvals (EDGEFLAGS_PUBLIC_KEYS wins)", () => {
    writeFileSync(join(dir, "jwks.json"), '{"keys":[]}');
    expect(settings({}, { EDGEFLAGS_PUBLIC_KEYS_FILE: "jwks.json" }).publicKeys).toEqual({
      json: '{"keys":[]}',
      source: `EDGEFLAGS_PUBLIC_KEYS_FILE ${join(dir, "jwks.json")}`,
    });
    const both = settings(
      {},
      { EDGEFLAGS_PUBLIC_KEYS_FILE: "jwks.json", EDGEFLAGS_PUBLIC_KEYS: '{"keys":[1]}' },
    );
    expect(both.publicKeys?.source).toBe("EDGEFLAGS_PUBLIC_KEYS");
  });

  it("no policy anywhere: none", () => {
    expect(resolveSettings({}, {}, dir).policy).toBeUndefined();
  });

  it("a policy file that cannot be read is exit 3, one that is no policy exit 2 with every problem", () => {
    expect(() => settings({ policy: "missing.json" })).toThrow(
      expect.objectContaining({ exitCode: 3, message: expect.stringMatching(/cannot read the policy file/) }),
    );
    expect(() => loadPolicy(settings({ policy: "broken.json" }))).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: expect.stringMatching(
          /keys\.a\.roles: unknown role "boss".*approvals: "x" is not a selector/,
        ),
      }),
    );
  });

  it("reports assume the configured key when it may sign, else the policy's unscoped publisher", () => {
    const { policy } = loadPolicy(settings({}))!;
    expect(reportSigner(policy, undefined, "team-web")).toBe("team-web");
    expect(reportSigner(policy, undefined, "alice")).toBe("ci-publisher");
    expect(reportSigner(policy, undefined, undefined)).toBe("ci-publisher");
    expect(reportSigner(policy, "oncall", "team-web")).toBe("oncall");
  });
});

describe("kills and prerequisites", () => {
  const d = doc({
    a: flag({ prerequisites: [{ flag: "b", variants: ["on"] }] }),
    b: flag({ prerequisites: [{ flag: "c", variants: ["on"] }] }),
    c: flag(),
    d: flag(),
  });
  it.each<[string, string[], string[]]>([
    ["a", ["c"], ["c"]],
    ["a", ["b", "c"], ["b", "c"]],
    ["b", ["c"], ["c"]],
    ["d", ["c"], []],
    ["c", ["c"], []],
  ])("%s with %j killed depends on %j", (key, kills, expected) => {
    expect(killedPrerequisites(d, key, new Set(kills)).sort()).toEqual(expected);
  });
});
