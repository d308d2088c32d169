/**
 * No free coverage (src/policy/check.ts): over random documents, signers and approval groups drawn
 * from real signatures, taking signatures away never turns a refused snapshot into an accepted one,
 * and adding signatures by keys that may not approve never does either.
 *
 * Every signature of every manifest by every key is made once up front; a scenario picks groups and
 * signatures from them, so each run costs only the checks themselves.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import type { ApprovalGroup, ApprovalSignature } from "../../src/policy/approvals";
import { type CoverageReport, checkCoverage } from "../../src/policy/check";
import { groupOf, manifestOf, signGroup } from "../../src/policy/manifest";
import { classOf, type PolicyFile } from "../../src/policy/policy";
import type { SigningKey } from "../../src/snapshot/sign";
import { baseDoc, ENV, KIDS, type Kid, NOW, POLICY, payFlag, ring, signer, stranger } from "./helpers";

const base = baseDoc();
const killed = (key: string): FlagsDocument =>
  baseDoc({ [key]: { ...(base.flags[key] as FlagDefinition), enabled: false } });

/** Documents a snapshot may serve. */
const DOCS: FlagsDocument[] = [
  base,
  baseDoc({ "pay-checkout": { ...payFlag, fallthrough: "off" } }),
  killed("pay-checkout"),
  killed("search-v2"),
  baseDoc({ "search-v2": { owner: "web-team", fallthrough: "on" } }),
  baseDoc({ "web-banner": { owner: "web-team", clientVisible: true, fallthrough: "off" } }),
  baseDoc({ "pay-checkout": { ...payFlag, tags: ["checkout"] } }),
  baseDoc({ "admin-tools": { owner: "security-team", kind: "permission", fallthrough: "on" } }),
  {
    ...base,
    gates: [
      { id: "checkout", pattern: "/checkout/*", flag: "pay-checkout", allow: ["on"], deny: { status: 403 } },
    ],
  },
];
const { "pay-checkout": _gone, ...withoutPay } = base.flags;
DOCS.push({ flags: withoutPay });
/**
 * Manifests approvals may be over: every document here (the last one naming the flag it drops), and
 * the base one for another environment.
 */
const MANIFESTS = await Promise.all([
  ...DOCS.map((d, i) =>
    manifestOf(d, {
      environment: ENV,
      now: NOW,
      ...(i === DOCS.length - 1 ? { removed: ["pay-checkout"] } : {}),
    }),
  ),
  manifestOf(base, { environment: "staging", now: NOW }),
]);
const GROUPS: ApprovalGroup[] = MANIFESTS.map(groupOf);

/** Signers of approval signatures: every fixture key, a stranger, and a forgery of alice's kid. */
const APPROVERS: { name: string; key: SigningKey }[] = [
  ...(await Promise.all(KIDS.map(async (k) => ({ name: k, key: await signer(k) })))),
  { name: "mallory", key: await stranger("mallory") },
  { name: "forged-alice", key: await stranger("alice") },
];
/** SIGS[group][approver] */
const SIGS: ApprovalSignature[][] = await Promise.all(
  GROUPS.map((g) => Promise.all(APPROVERS.map((a) => signGroup(g, a.key)))),
);
const approverIndex = (name: string) => APPROVERS.findIndex((a) => a.name === name);

const POLICIES: { name: string; file: PolicyFile; zero: string[] }[] = [
  { name: "the matrix policy", file: POLICY, zero: ["oncall", "qa-preview", "mallory"] },
  {
    name: "the matrix policy with bob revoked",
    file: { ...POLICY, revoked: ["bob"] },
    zero: ["oncall", "qa-preview", "mallory", "bob"],
  },
];
const RINGS = await Promise.all(POLICIES.map((p) => ring(p.file)));
const STICKY = new Map(Object.entries(base.flags).map(([k, f]) => [k, classOf(f)]));

/** A scenario: what is served, by whom, with which groups (indexes into GROUPS and APPROVERS). */
interface Scenario {
  policy: number;
  doc: number;
  signer: Kid;
  reason: boolean;
  sticky: boolean;
  groups: { g: number; sigs: number[] }[];
}

/** Approvers the pool draws from: weighted towards keys that count, so that many runs are accepted. */
function scenarioArb(pool: string[]): fc.Arbitrary<Scenario> {
  const who = fc.constantFrom(...pool.map(approverIndex));
  const groups = fc.array(
    fc.record({ g: fc.nat(GROUPS.length - 1), sigs: fc.array(who, { maxLength: 4 }) }),
    { maxLength: 4 },
  );
  return fc
    .record({
      policy: fc.nat(POLICIES.length - 1),
      doc: fc.nat(DOCS.length - 1),
      signer: fc.constantFrom<Kid>("ci-publisher", "ci-publisher", "team-web", "oncall"),
      reason: fc.boolean(),
      sticky: fc.boolean(),
      groups,
      // Often carry a fully approved group of the served document, or of the base one.
      boost: fc.constantFrom(-1, 0, 1),
    })
    .map(({ boost, ...s }) => {
      const full = [approverIndex("alice"), approverIndex("bob"), approverIndex("ci-publisher")];
      const extra = boost < 0 ? [] : [{ g: boost === 0 ? s.doc : 0, sigs: full }];
      return { ...s, groups: [...extra, ...s.groups] };
    });
}

function toGroups(groups: Scenario["groups"]): ApprovalGroup[] {
  return groups.map(({ g, sigs }) => ({
    payload: (GROUPS[g] as ApprovalGroup).payload,
    signatures: sigs.map((a) => (SIGS[g] as ApprovalSignature[])[a] as ApprovalSignature),
  }));
}

function check(s: Scenario): Promise<CoverageReport> {
  const keys = RINGS[s.policy]!;
  return checkCoverage({
    doc: DOCS[s.doc] as FlagsDocument,
    environment: ENV,
    signer: s.signer,
    groups: toGroups(s.groups),
    ...(s.reason ? { breakGlassReason: "incident" } : {}),
    policy: keys.policy!,
    keys,
    ...(s.sticky ? { sticky: STICKY } : {}),
  });
}

/** Per item: whether it is covered. */
const covered = (r: CoverageReport) => Object.fromEntries(r.items.map((i) => [i.item, i.ok]));

/** The scenario with some signatures taken away (one flag per signature, in order). */
function without(s: Scenario, drop: boolean[]): Scenario {
  let n = 0;
  return { ...s, groups: s.groups.map((g) => ({ ...g, sigs: g.sigs.filter(() => !drop[n++]) })) };
}

/** The scenario with signatures added at given places (group index, position, approver). */
function withAdded(s: Scenario, add: { g: number; at: number; who: number }[]): Scenario {
  const groups = s.groups.map((g) => ({ ...g, sigs: [...g.sigs] }));
  if (groups.length === 0) return s;
  for (const a of add) {
    const g = groups[a.g % groups.length]!;
    g.sigs.splice(a.at % (g.sigs.length + 1), 0, a.who);
  }
  return { ...s, groups };
}

const honest = [
  "ci-publisher",
  "alice",
  "bob",
  "carol-payments",
  "team-web",
  "oncall",
  "qa-preview",
  "mallory",
];
const stats = { accepted: 0, runs: 0 };

describe("no free coverage", () => {
  it("taking signatures away never turns a refused snapshot into an accepted one", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(honest), fc.array(fc.boolean(), { maxLength: 24 }), async (s, drop) => {
        const [all, fewer] = await Promise.all([check(s), check(without(s, drop))]);
        stats.runs++;
        if (all.ok) stats.accepted++;
        if (fewer.ok) expect(all.ok).toBe(true);
        // ...item by item, too.
        const before = covered(all);
        for (const [item, ok] of Object.entries(covered(fewer))) if (ok) expect(before[item]).toBe(true);
      }),
      { numRuns: 300 },
    );
    // The property means something only if many scenarios are accepted.
    expect(stats.accepted).toBeGreaterThan(stats.runs / 10);
  });

  it("signatures by keys that count for nothing change nothing (on-call, preview, untrusted, revoked)", async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb(honest),
        fc.array(fc.record({ g: fc.nat(), at: fc.nat(), who: fc.nat() }), { minLength: 1, maxLength: 4 }),
        async (s, adds) => {
          const zero = POLICIES[s.policy]!.zero.map(approverIndex);
          const add = adds.map((a) => ({ ...a, who: zero[a.who % zero.length]! }));
          const [before, after] = await Promise.all([check(s), check(withAdded(s, add))]);
          expect(after.ok).toBe(before.ok);
          expect(covered(after)).toEqual(covered(before));
          expect(after.items.map((i) => i.by)).toEqual(before.items.map((i) => i.by));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("signatures by publisher keys never cover a guarded flag or gate", async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb(honest),
        fc.array(fc.record({ g: fc.nat(), at: fc.nat(), who: fc.constantFrom("ci-publisher", "team-web") }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (s, adds) => {
          const add = adds.map((a) => ({ ...a, who: approverIndex(a.who) }));
          const [before, after] = await Promise.all([check(s), check(withAdded(s, add))]);
          const was = covered(before);
          for (const i of after.items) if (i.needs > 0) expect(i.ok).toBe(was[i.item]);
          // A snapshot refused only over guarded items stays refused.
          if (!before.ok && before.items.every((i) => i.ok || i.needs > 0) && before.items.length > 0) {
            expect(after.ok).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // A signature that claims a trusted kid but does not verify must not mark that kid as seen in its
  // group (the key's real signature after it would be skipped, and taking the bad signature away would
  // turn a refused snapshot into an accepted one).
  it("...also when some signatures claim a trusted kid but do not verify", async () => {
    const forged = approverIndex("forged-alice");
    await fc.assert(
      fc.asyncProperty(
        scenarioArb(honest),
        fc.array(fc.record({ g: fc.nat(), at: fc.nat() }), { minLength: 1, maxLength: 3 }),
        async (s, places) => {
          // Taking the forged signatures away from `withForged` gives `s`.
          const withForged = withAdded(
            s,
            places.map((p) => ({ ...p, who: forged })),
          );
          const [fewer, all] = await Promise.all([check(s), check(withForged)]);
          if (fewer.ok) expect(all.ok).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
