/**
 * The coverage matrix (src/policy/check.ts) through verifySnapshot: real snapshots signed by the
 * fixture keys, carrying real approval groups, against the policy of test/policy/helpers.ts
 * (ci-publisher: publisher; alice, bob: approvers; carol-payments: approver of owner:payments-team;
 * team-web: publisher of owner:web-team; oncall; qa-preview: preview; tag:payments and
 * kind:permission need two approvals).
 */
import "urlpattern-polyfill";
import { base64url, CompactSign } from "jose";
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument, GateDefinition } from "../../src/flags/types";
import { APPROVAL_TYP, type ApprovalGroup } from "../../src/policy/approvals";
import { checkCoverage } from "../../src/policy/check";
import { classOf, type PolicyFile } from "../../src/policy/policy";
import type { KeyRing } from "../../src/snapshot/keys";
import {
  approve,
  baseDoc,
  ENV,
  type Kid,
  POLICY,
  payFlag,
  ring,
  type SnapshotOptions,
  signer,
  snapshot,
  stranger,
  verdict,
} from "./helpers";

const keys = await ring();
const policyWith = (change: Partial<PolicyFile>): Promise<KeyRing> => ring({ ...POLICY, ...change });

/** The approved state: the base document with two approvals, and ci's own earlier group. */
const base = baseDoc();
const approved = await approve(base, ["alice", "bob"]);
const ciEarlier = await approve(base, ["ci-publisher"]);

const killed = (doc: FlagsDocument, key: string): FlagsDocument =>
  baseDoc({ ...doc.flags, [key]: { ...(doc.flags[key] as FlagDefinition), enabled: false } });
const withPay = (change: Partial<FlagDefinition>) => baseDoc({ "pay-checkout": { ...payFlag, ...change } });

/** The pay-checkout and admin-tools problems of a snapshot with too few approvals. */
const needs2 = (flag: string, has: string) =>
  `flags.${flag}: needs 2 approvals by distinct approver keys in scope, has ${has}`;
const notCovered = (flag: string) =>
  `flags.${flag}: not signed by a publisher or approver key whose scope covers it`;

interface Case {
  doc: FlagsDocument;
  options?: SnapshotOptions;
  keys?: KeyRing;
  sticky?: ReadonlyMap<string, readonly string[]>;
}

/** "ok", or every problem expected in the ERR_SNAPSHOT_POLICY message (and, after "!", ones not). */
type Expected = "ok" | string[];

async function run(c: Case): Promise<string> {
  return verdict(await snapshot(c.doc, c.options), c.keys ?? keys, c.sticky);
}

function expectVerdict(actual: string, expected: Expected): void {
  if (expected === "ok") {
    expect(actual).toBe("ok");
    return;
  }
  expect(actual).toMatch(/^snapshot refused by the trust policy: /);
  for (const e of expected) {
    if (e.startsWith("!")) expect(actual).not.toContain(e.slice(1));
    else expect(actual).toContain(e);
  }
}

/** The group with its manifest changed (signatures kept as they were). */
function tampered(group: ApprovalGroup, change: (m: Record<string, unknown>) => void): ApprovalGroup {
  const manifest = JSON.parse(new TextDecoder().decode(base64url.decode(group.payload)));
  change(manifest);
  return { ...group, payload: base64url.encode(JSON.stringify(manifest)) };
}

/** A group `kid` signed, with a valid signature under a header that lists critical extensions. */
async function critical(doc: FlagsDocument, kid: Kid): Promise<ApprovalGroup> {
  const group = await approve(doc, []);
  const key = await signer(kid);
  const jws = await new CompactSign(base64url.decode(group.payload))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: APPROVAL_TYP, crit: ["b64"], b64: true })
    .sign(key.key);
  const [protectedHeader, , signature] = jws.split(".") as [string, string, string];
  return { ...group, signatures: [{ protected: protectedHeader, signature }] };
}

describe("approvals: distinct approver keys in scope, over the current definition", () => {
  const unguarded: FlagsDocument = {
    flags: { "web-banner": base.flags["web-banner"]!, misc: base.flags.misc! },
  };
  const rows: [string, () => Promise<Case>, Expected][] = [
    ["unguarded flags signed by ci alone", async () => ({ doc: unguarded }), "ok"],
    [
      "guarded flags signed by ci alone: refused, naming each",
      async () => ({ doc: base }),
      [needs2("pay-checkout", "0"), needs2("admin-tools", "0"), "!web-banner", "!misc"],
    ],
    [
      "one approver",
      async () => ({ doc: base, options: { groups: [await approve(base, ["alice"])] } }),
      [needs2("pay-checkout", "1 (alice)"), needs2("admin-tools", "1 (alice)")],
    ],
    ["two approvers in one group", async () => ({ doc: base, options: { groups: [approved] } }), "ok"],
    [
      "two approvers in two groups",
      async () => ({
        doc: base,
        options: { groups: [await approve(base, ["bob"]), await approve(base, ["alice"])] },
      }),
      "ok",
    ],
    [
      "the same key twice in one group counts once",
      async () => ({ doc: base, options: { groups: [await approve(base, ["alice", "alice"])] } }),
      [needs2("pay-checkout", "1 (alice)")],
    ],
    [
      "the same key in two groups counts once",
      async () => ({
        doc: base,
        options: { groups: [await approve(base, ["alice"]), await approve(base, ["alice"])] },
      }),
      [needs2("pay-checkout", "1 (alice)")],
    ],
    [
      "a revoked approver counts zero",
      async () => ({
        doc: base,
        options: { groups: [approved] },
        keys: await policyWith({ revoked: ["bob"] }),
      }),
      [needs2("pay-checkout", "1 (alice)"), needs2("admin-tools", "1 (alice)")],
    ],
    [
      "a key nobody trusts counts zero",
      async () => ({
        doc: base,
        options: { groups: [await approve(base, ["alice", await stranger("mallory")])] },
      }),
      [needs2("pay-checkout", "1 (alice)")],
    ],
    [
      "a forged signature with a trusted kid counts zero",
      async () => ({
        doc: base,
        options: { groups: [await approve(base, ["alice", await stranger("bob")])] },
      }),
      [needs2("pay-checkout", "1 (alice)")],
    ],
    [
      "an approver out of scope counts zero (carol on a flag of security-team)",
      async () => ({ doc: base, options: { groups: [await approve(base, ["alice", "carol-payments"])] } }),
      [needs2("admin-tools", "1 (alice)"), "!pay-checkout"],
    ],
    [
      "an approver in scope counts (carol on a flag of payments-team)",
      async () => ({
        doc: { flags: { "pay-checkout": payFlag } },
        options: {
          groups: [await approve({ flags: { "pay-checkout": payFlag } }, ["carol-payments", "bob"])],
        },
      }),
      "ok",
    ],
    [
      "approvals for another environment count zero",
      async () => ({ doc: base, options: { groups: [await approve(base, ["alice", "bob"], "staging")] } }),
      [needs2("pay-checkout", "0"), needs2("admin-tools", "0")],
    ],
    [
      "a tampered manifest counts zero",
      async () => {
        const changed = withPay({ fallthrough: "off" });
        // The signatures of the approved base manifest, around the manifest of the changed document.
        const forged = { ...(await approve(changed, [])), signatures: approved.signatures };
        return { doc: changed, options: { groups: [forged] } };
      },
      [needs2("pay-checkout", "0"), needs2("admin-tools", "0")],
    ],
    [
      "a manifest changed after signing (its note) counts zero",
      async () => ({
        doc: base,
        options: {
          groups: [
            tampered(approved, (m) => {
              m.note = "approved in #42";
            }),
          ],
        },
      }),
      [needs2("pay-checkout", "0"), needs2("admin-tools", "0")],
    ],
    [
      "approvals of an earlier definition do not cover a change",
      async () => ({ doc: withPay({ fallthrough: "off" }), options: { groups: [approved] } }),
      [needs2("pay-checkout", "0"), "!admin-tools"],
    ],
    [
      "a kill by ci of an approved guarded flag: its approved off digest covers it",
      async () => ({ doc: killed(base, "pay-checkout"), options: { groups: [approved] } }),
      "ok",
    ],
    [
      "a kill by ci of a guarded flag never approved",
      async () => ({
        doc: killed(base, "pay-checkout"),
        options: { groups: [await approve(base, ["alice"])] },
      }),
      [needs2("pay-checkout", "1 (alice)")],
    ],
    [
      "a kill that also changes what the flag serves when off",
      async () => ({
        doc: withPay({ enabled: false, variants: { on: true, off: true } }),
        options: { groups: [approved] },
      }),
      [needs2("pay-checkout", "0")],
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("sticky classes: a snapshot cannot reclassify a flag out of a rule or into a scope", () => {
  const payClass = ["owner:payments-team", "tag:payments", "tag:checkout"];
  const untagged = withPay({ tags: ["checkout"], fallthrough: "off" });
  const movedToWeb = baseDoc({ "search-v2": { owner: "web-team", fallthrough: "on" } });
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "the payments tag removed (and the flag changed), ci alone, without sticky: accepted - why sticky exists",
      async () => ({ doc: untagged, options: { groups: [approved] } }),
      "ok",
    ],
    [
      "...the same with sticky saying it had the tag: refused",
      async () => ({
        doc: untagged,
        options: { groups: [approved] },
        sticky: new Map([["pay-checkout", payClass]]),
      }),
      [needs2("pay-checkout", "0")],
    ],
    [
      "an owner changed into team-web's scope, signed by team-web, without sticky: accepted",
      async () => ({ doc: movedToWeb, options: { signer: "team-web", groups: [approved, ciEarlier] } }),
      "ok",
    ],
    [
      "...the same with sticky saying it was search-team's: refused",
      async () => ({
        doc: movedToWeb,
        options: { signer: "team-web", groups: [approved, ciEarlier] },
        sticky: new Map([["search-v2", ["owner:search-team"]]]),
      }),
      [notCovered("search-v2"), "!web-banner", "!misc"],
    ],
    [
      "sticky that agrees with the flag changes nothing",
      async () => ({
        doc: base,
        options: { groups: [approved] },
        sticky: new Map(Object.entries(base.flags).map(([k, f]) => [k, classOf(f)])),
      }),
      "ok",
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("scoped publishers", () => {
  const webChanged = baseDoc({
    "web-banner": { owner: "web-team", clientVisible: true, fallthrough: "off" },
  });
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "team-web changes its own flag; other teams' flags carried by ci's earlier group",
      async () => ({ doc: webChanged, options: { signer: "team-web", groups: [approved, ciEarlier] } }),
      "ok",
    ],
    [
      "team-web without ci's group: every flag outside its scope is refused",
      async () => ({ doc: webChanged, options: { signer: "team-web" } }),
      [notCovered("search-v2"), notCovered("misc"), needs2("pay-checkout", "0"), "!web-banner"],
    ],
    [
      "team-web with the approvers' group only: approvers attest unguarded flags too",
      async () => ({ doc: webChanged, options: { signer: "team-web", groups: [approved] } }),
      "ok",
    ],
    [
      "team-web changes a flag of search-team",
      async () => ({
        doc: baseDoc({ "search-v2": { owner: "search-team", fallthrough: "on" } }),
        options: { signer: "team-web", groups: [approved, ciEarlier] },
      }),
      [notCovered("search-v2"), "!misc"],
    ],
    [
      "team-web adds a flag of its own",
      async () => ({
        doc: baseDoc({ "web-new": { owner: "web-team", fallthrough: "on" } }),
        options: { signer: "team-web", groups: [approved, ciEarlier] },
      }),
      "ok",
    ],
    [
      "team-web adds an ownerless flag",
      async () => ({
        doc: baseDoc({ "web-new": { fallthrough: "on" } }),
        options: { signer: "team-web", groups: [approved, ciEarlier] },
      }),
      [notCovered("web-new")],
    ],
    [
      "a guarded flag of team-web still needs two approvers",
      async () => ({
        doc: baseDoc({ "web-pay": { owner: "web-team", tags: ["payments"], fallthrough: "on" } }),
        options: { signer: "team-web", groups: [approved, ciEarlier] },
      }),
      [needs2("web-pay", "0")],
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("on-call: break-glass kills and put-backs only", () => {
  const reason = "INC-123: checkout errors";
  const groups = [approved, ciEarlier];
  const webOff = baseDoc({
    "web-banner": { owner: "web-team", clientVisible: true, enabled: false, fallthrough: "on" },
  });
  const webOffGroups = async () => [
    await approve(webOff, ["alice", "bob"]),
    await approve(webOff, ["ci-publisher"]),
  ];
  const later = withPay({ fallthrough: "off" });
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "a kill of an approved guarded flag, with a reason",
      async () => ({ doc: killed(base, "pay-checkout"), options: { signer: "oncall", reason, groups } }),
      "ok",
    ],
    [
      "a kill of an unguarded flag, with a reason (ci's earlier group attests its off value)",
      async () => ({ doc: killed(base, "search-v2"), options: { signer: "oncall", reason, groups } }),
      "ok",
    ],
    [
      "the same kill without a reason",
      async () => ({ doc: killed(base, "pay-checkout"), options: { signer: "oncall", groups } }),
      ["key oncall is an on-call key: its snapshots must carry audit.breakGlass.reason"],
    ],
    [
      "the same kill with a blank reason",
      async () => ({
        doc: killed(base, "pay-checkout"),
        options: { signer: "oncall", reason: "  ", groups },
      }),
      ["must carry audit.breakGlass.reason"],
    ],
    [
      "a kill with no approvals carried: on-call attests nothing itself",
      async () => ({ doc: killed(base, "pay-checkout"), options: { signer: "oncall", reason } }),
      [needs2("pay-checkout", "0"), notCovered("misc"), notCovered("web-banner")],
    ],
    [
      "turning a disabled flag on",
      async () => ({ doc: base, options: { signer: "oncall", reason, groups: await webOffGroups() } }),
      [notCovered("web-banner"), "!misc"],
    ],
    [
      "widening a split",
      async () => ({
        doc: baseDoc({ "search-v2": { owner: "search-team", fallthrough: { split: { on: 50, off: 50 } } } }),
        options: { signer: "oncall", reason, groups },
      }),
      [notCovered("search-v2")],
    ],
    [
      "changing a variant value",
      async () => ({
        doc: withPay({ variants: { on: true, off: true } }),
        options: { signer: "oncall", reason, groups },
      }),
      [needs2("pay-checkout", "0")],
    ],
    [
      "changing a variant value of a killed flag",
      async () => ({
        doc: withPay({ enabled: false, variants: { on: true, off: true } }),
        options: { signer: "oncall", reason, groups },
      }),
      [needs2("pay-checkout", "0")],
    ],
    [
      "restoring a previously approved definition (its approvals carried)",
      async () => ({
        doc: base,
        options: {
          signer: "oncall",
          reason,
          groups: [
            await approve(later, ["alice", "bob"]),
            await approve(later, ["ci-publisher"]),
            approved,
            ciEarlier,
          ],
        },
      }),
      "ok",
    ],
    [
      "a kill of a flag outside the on-call key's scope",
      async () => ({
        doc: killed(base, "pay-checkout"),
        options: { signer: "oncall", reason, groups },
        keys: await policyWith({
          keys: { ...POLICY.keys, oncall: { roles: ["oncall"], scope: ["owner:web-team"] } },
        }),
      }),
      ["flags.pay-checkout: disabled by on-call key oncall, whose scope does not cover it"],
    ],
    [
      "a kill of a flag inside the on-call key's scope",
      async () => ({
        doc: killed(base, "web-banner"),
        options: { signer: "oncall", reason, groups },
        keys: await policyWith({
          keys: { ...POLICY.keys, oncall: { roles: ["oncall"], scope: ["owner:web-team"] } },
        }),
      }),
      "ok",
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("who may sign a snapshot", () => {
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "an approver key",
      async () => ({ doc: base, options: { signer: "alice", groups: [approved] } }),
      ["key alice may not sign snapshots (roles: approver; needs publisher or oncall)"],
    ],
    [
      "a preview key",
      async () => ({ doc: base, options: { signer: "qa-preview", groups: [approved] } }),
      ["key qa-preview may not sign snapshots (roles: preview; needs publisher or oncall)"],
    ],
    [
      "a revoked publisher",
      async () => ({
        doc: base,
        options: { groups: [approved] },
        keys: await policyWith({ revoked: ["ci-publisher"] }),
      }),
      ["the snapshot's signing key ci-publisher is revoked"],
    ],
    [
      "a trusted key the policy does not name",
      async () => ({
        doc: base,
        options: { groups: [approved] },
        keys: await policyWith({
          keys: Object.fromEntries(Object.entries(POLICY.keys).filter(([k]) => k !== "ci-publisher")),
        }),
      }),
      ["the snapshot's signing key ci-publisher has no role in the policy"],
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("gates follow the flag they gate", () => {
  const gate: GateDefinition = {
    id: "checkout",
    pattern: "/checkout/*",
    flag: "pay-checkout",
    allow: ["on"],
    deny: { status: 403 },
  };
  const gated: FlagsDocument = { ...base, gates: [gate] };
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "a gate on a guarded flag approved without it (the manifest has no gates)",
      async () => ({ doc: gated, options: { groups: [approved] } }),
      ["gates.checkout: needs 2 approvals by distinct approver keys in scope, has 0", "!flags."],
    ],
    [
      "a gate on a guarded flag approved with it",
      async () => ({ doc: gated, options: { groups: [await approve(gated, ["alice", "bob"])] } }),
      "ok",
    ],
    [
      "a gate changed after its approval",
      async () => ({
        doc: { ...base, gates: [{ ...gate, allow: ["on", "off"] }] },
        options: { groups: [await approve(gated, ["alice", "bob"])] },
      }),
      ["gates.checkout: needs 2 approvals", "!flags."],
    ],
    [
      "an anonymous gate is gate-<index>",
      async () => {
        const { id: _id, ...anonymous } = gate;
        return { doc: { ...base, gates: [anonymous] }, options: { groups: [approved] } };
      },
      ["gates.gate-0: needs 2 approvals"],
    ],
    [
      "a gate on an unguarded flag, ci alone",
      async () => ({
        doc: { flags: { misc: { fallthrough: "on" } }, gates: [{ ...gate, flag: "misc" }] },
      }),
      "ok",
    ],
    [
      "a gate on a flag outside team-web's scope, signed by team-web",
      async () => {
        const doc: FlagsDocument = {
          flags: { misc: { fallthrough: "on" } },
          gates: [{ ...gate, flag: "misc" }],
        };
        return {
          doc,
          options: { signer: "team-web", groups: [await approve({ flags: doc.flags }, ["ci-publisher"])] },
        };
      },
      ["gates.checkout: not signed by a publisher or approver key whose scope covers it", "!flags.misc"],
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });
});

describe("without a policy", () => {
  it("approvals are ignored entirely: any trusted key publishes anything", async () => {
    const plain = await ring(null);
    expect(plain.policy).toBeUndefined();
    const junk = tampered(await approve(base, ["alice"], "staging"), (m) => {
      m.flags = {};
    });
    for (const options of [
      {},
      { signer: "alice" as const },
      { signer: "qa-preview" as const, groups: [junk] },
    ]) {
      expect(await verdict(await snapshot(base, options), plain)).toBe("ok");
    }
  });
});

describe("checkCoverage reports", () => {
  it("what counted, who could approve, and why signatures were ignored", async () => {
    const mallory = await stranger("mallory");
    const groups = [
      await approve(base, ["alice", "alice", mallory, "oncall"]),
      await approve(base, ["bob"], "staging"),
      tampered(await approve(base, ["bob"]), (m) => {
        m.note = "x";
      }),
      { payload: "not-json", signatures: [] },
      await critical(base, "bob"),
    ];
    const report = await checkCoverage({
      doc: base,
      environment: ENV,
      signer: "ci-publisher",
      groups,
      policy: keys.policy!,
      keys,
    });
    expect(report.ok).toBe(false);
    expect(report.items.map((i) => [i.item, i.needs, i.by, i.ok, i.candidates])).toEqual([
      ["flags.pay-checkout", 2, ["alice"], false, ["alice", "bob", "carol-payments"]],
      ["flags.admin-tools", 2, ["alice"], false, ["alice", "bob"]],
    ]);
    expect(report.ignored.sort()).toEqual(
      [
        "approvals[0].signatures[2]: no trusted key mallory",
        "approvals[1]: for environment staging",
        "approvals[2].signatures[0]: signature of bob does not verify",
        "approvals[3]: not a manifest",
        "approvals[4].signatures[0]: critical extensions (crit) are not supported",
      ].sort(),
    );
  });

  it("a publisher in scope needs nothing computed for unguarded flags", async () => {
    const report = await checkCoverage({
      doc: { flags: { misc: { fallthrough: "on" } } },
      environment: ENV,
      signer: "ci-publisher",
      groups: [],
      policy: keys.policy!,
      keys,
    });
    expect(report).toEqual({ ok: true, problems: [], items: [], ignored: [] });
  });

  it("a kill covered through the off digest is reported as offOnly", async () => {
    const report = await checkCoverage({
      doc: killed(base, "pay-checkout"),
      environment: ENV,
      signer: "ci-publisher",
      groups: [approved],
      policy: keys.policy!,
      keys,
    });
    expect(report.ok).toBe(true);
    expect(report.items.find((i) => i.item === "flags.pay-checkout")).toMatchObject({
      offOnly: true,
      by: ["alice", "bob"],
    });
    expect(report.items.find((i) => i.item === "flags.admin-tools")).toMatchObject({ offOnly: false });
  });
});

describe("removals: a guarded flag the last trusted snapshot had (sticky) is dropped only with approvals", () => {
  const { "pay-checkout": _pay, ...withoutPay } = base.flags;
  const dropped: FlagsDocument = { flags: withoutPay };
  const { "search-v2": _search, ...withoutSearch } = base.flags;
  const sticky = new Map(Object.entries(base.flags).map(([k, f]) => [k, classOf(f)]));
  const removal = (kids: Parameters<typeof approve>[1], env = ENV) =>
    approve(dropped, kids, env, ["pay-checkout"]);
  const removedNeeds = (has: string) =>
    `flags.pay-checkout (removed): needs 2 approvals by distinct approver keys in scope, has ${has}`;
  const rows: [string, () => Promise<Case>, Expected][] = [
    [
      "dropped by ci alone",
      async () => ({ doc: dropped, options: { groups: [approved] }, sticky }),
      [removedNeeds("0"), "!admin-tools"],
    ],
    [
      "dropped with two approver manifests naming it in `removed`",
      async () => ({ doc: dropped, options: { groups: [await removal(["alice", "bob"])] }, sticky }),
      "ok",
    ],
    [
      "...by carol (in scope by the recorded owner) and bob",
      async () => ({
        doc: dropped,
        options: { groups: [await removal(["carol-payments", "bob"]), approved] },
        sticky,
      }),
      "ok",
    ],
    [
      "dropped with one",
      async () => ({ doc: dropped, options: { groups: [await removal(["alice"])] }, sticky }),
      [removedNeeds("1 (alice)")],
    ],
    [
      "dropped with approvals of the smaller document that do not name the removal",
      async () => ({ doc: dropped, options: { groups: [await approve(dropped, ["alice", "bob"])] }, sticky }),
      [removedNeeds("0")],
    ],
    [
      "dropped with removal approvals for another environment",
      async () => ({
        doc: dropped,
        options: { groups: [await removal(["alice", "bob"], "staging")] },
        sticky,
      }),
      [removedNeeds("0")],
    ],
    [
      "the signer's own signature never approves a removal, even when it is an approver",
      async () => ({
        doc: dropped,
        options: { groups: [await removal(["alice"])] },
        sticky,
        keys: await policyWith({
          keys: { ...POLICY.keys, "ci-publisher": { roles: ["publisher", "approver"] } },
        }),
      }),
      [removedNeeds("1 (alice)")],
    ],
    [
      "without sticky the worker cannot know: accepted (why sticky exists)",
      async () => ({ doc: dropped, options: { groups: [approved] } }),
      "ok",
    ],
    [
      "an unguarded flag dropped by ci alone",
      async () => ({ doc: { flags: withoutSearch }, options: { groups: [approved] }, sticky }),
      "ok",
    ],
  ];
  it.each(rows)("%s", async (_what, build, expected) => {
    expectVerdict(await run(await build()), expected);
  });

  it("a scoped publisher may not drop another team's unguarded flag, nor a gate on a guarded flag", async () => {
    const gate: GateDefinition = {
      id: "checkout",
      pattern: "/checkout/*",
      flag: "pay-checkout",
      allow: ["on"],
      deny: { status: 403 },
    };
    expect(
      await run({
        doc: { flags: withoutSearch },
        options: { signer: "team-web", groups: [approved, ciEarlier] },
        sticky,
      }),
    ).toContain("flags.search-v2 (removed): not signed by a publisher or approver key whose scope covers it");
    const gated = Object.assign(new Map(sticky), { gates: new Map([["checkout", "pay-checkout"]]) });
    const verdictOf = await run({
      doc: base,
      options: { signer: "team-web", groups: [approved] },
      sticky: gated,
    });
    expect(verdictOf).toContain("gates.checkout (removed): needs 2 approvals");
    // Kept (and approved), the gate passes; the publisher in scope may drop an unguarded flag.
    const gatedGroups = [await approve({ ...base, gates: [gate] }, ["alice", "bob", "ci-publisher"])];
    expect(
      await run({ doc: { ...base, gates: [gate] }, options: { groups: gatedGroups }, sticky: gated }),
    ).toBe("ok");
    expect(await run({ doc: { flags: withoutSearch }, options: { groups: [approved] }, sticky })).toBe("ok");
  });

  // Break-glass only turns things off: dropping a flag (guarded or not) is never an on-call action.
  it("an on-call key cannot delete an unguarded flag", async () => {
    const verdictOf = await run({
      doc: { flags: withoutSearch },
      options: { signer: "oncall", reason: "INC-1", groups: [approved, ciEarlier] },
      sticky,
    });
    expect(verdictOf).not.toBe("ok");
  });

  it("an on-call key cannot delete a guarded flag, even with removal approvals", async () => {
    const verdictOf = await run({
      doc: dropped,
      options: {
        signer: "oncall",
        reason: "INC-1",
        groups: [await removal(["alice", "bob", "ci-publisher"])],
      },
      sticky,
    });
    expect(verdictOf).not.toBe("ok");
  });
});

describe("regressions", () => {
  // verifyApprovals counts a key once per group, but only through a signature that verifies: a
  // signature that merely claims "alice" must not hide alice's real one after it in the same group
  // (anyone who can add to a group before it is carried could otherwise suppress an approval).
  it("a bad signature claiming a trusted kid does not hide that key's real signature", async () => {
    const group = await approve(base, [await stranger("alice"), "alice", "bob"]);
    expect(await run({ doc: base, options: { groups: [group] } })).toBe("ok");
  });

  // src/policy/digest.ts shares one `seen` set across the prerequisite walk: the worker's digest of a
  // flag whose prerequisites share a prerequisite differs from the publisher's manifest, so correct
  // approvals never count.
  it("a guarded flag with shared prerequisites (a diamond), approved by two approvers, is accepted", async () => {
    const doc: FlagsDocument = {
      flags: {
        "pay-top": {
          tags: ["payments"],
          prerequisites: [
            { flag: "left", variants: ["on"] },
            { flag: "right", variants: ["on"] },
          ],
          fallthrough: "on",
        },
        left: { prerequisites: [{ flag: "shared", variants: ["on"] }], fallthrough: "on" },
        right: { prerequisites: [{ flag: "shared", variants: ["on"] }], fallthrough: "on" },
        shared: { fallthrough: "on" },
      },
    };
    expect(await verdict(await snapshot(doc, { groups: [await approve(doc, ["alice", "bob"])] }), keys)).toBe(
      "ok",
    );
  });

  // src/policy/digest.ts writes any object under a key named `split` as a list of pairs, so a JSON
  // variant value {"split": {"a": 1}} digests like {"split": [["a", 1]]}: approvals of one value cover
  // serving the other.
  it("approvals of one variant value do not cover serving a different one", async () => {
    const withValue = (value: unknown): FlagsDocument =>
      baseDoc({
        "pay-config": {
          owner: "payments-team",
          tags: ["payments"],
          variants: { on: value, off: {} } as FlagDefinition["variants"],
          offVariant: "off",
          fallthrough: "on",
        },
      });
    const approvedValue = withValue({ split: [["a", 1]] });
    const served = withValue({ split: { a: 1 } });
    const jws = await snapshot(served, { groups: [await approve(approvedValue, ["alice", "bob"])] });
    expect(await verdict(jws, keys)).toContain("flags.pay-config: needs 2 approvals");
  });
});
