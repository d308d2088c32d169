/**
 * Approvals enforced at every edge location (the trust policy, src/policy/check.ts), inside workerd with
 * real KV and the real beacon: at the intake, and when a KV writer holding one key writes a snapshot
 * straight into KV for a cold isolate to load; with the last good snapshot serving and /healthz saying
 * why. The case-by-case coverage rules are tested in Node (test/policy/); these are the attacks.
 */
import { describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { approveGroup, groupOf, manifestOf } from "../../src/policy/manifest";
import { harness } from "./helpers";
import {
  approvals,
  baseDoc,
  breakGlass,
  POLICY,
  type PolicyKid,
  policyEnv,
  policySigner,
  policySnapshot,
} from "./policy-helpers";
import { health, kvWriter, publishLegit, served } from "./trust-helpers";

const intake = (jws: string) => ({
  method: "PUT",
  headers: { authorization: "Bearer test-publish-token", "content-type": "application/jose" },
  body: jws,
});

/** Version 1: the base document approved by alice and bob and published the legitimate way. */
async function approvedBase(environment: string, doc: FlagsDocument = baseDoc()) {
  const group = await approvals(doc, environment, ["alice", "bob", "ci-publisher"]);
  const jws = await policySnapshot(doc, environment, { version: 1, groups: [group] });
  await publishLegit(environment, 1, jws);
  return { doc, group, jws };
}

async function flagValue(h: ReturnType<typeof harness>, key: string): Promise<unknown> {
  const res = await h.fetch(`/v1/flags?targetingKey=u`);
  const body = (await res.json()) as { flags: Record<string, unknown> };
  return body.flags[key];
}

describe("approvals at the intake", () => {
  const cases: { name: string; kids: PolicyKid[]; accepted: boolean }[] = [
    { name: "one approver", kids: ["alice"], accepted: false },
    { name: "the same approver twice", kids: ["alice", "alice"], accepted: false },
    { name: "an approver and a publisher", kids: ["alice", "ci-publisher"], accepted: false },
    { name: "an approver and a key out of its scope", kids: ["alice", "team-web"], accepted: false },
    { name: "two distinct approvers", kids: ["alice", "bob"], accepted: true },
    { name: "an approver and a scoped approver in scope", kids: ["alice", "carol-payments"], accepted: true },
  ];
  for (const [i, c] of cases.entries()) {
    it(`turning a tag:payments flag on with ${c.name}: ${c.accepted ? "accepted" : "refused"}`, async () => {
      const environment = `appr-intake-${i}`;
      await approvedBase(environment);
      const h = harness(policyEnv(environment));
      expect(await flagValue(h, "pay-new-checkout")).toBe(false);
      const next = baseDoc({ fallthrough: "on" });
      const jws = await policySnapshot(next, environment, {
        version: 2,
        groups: [await approvals(next, environment, c.kids)],
      });
      const res = await h.fetch("/v1/snapshot", intake(jws));
      if (c.accepted) {
        expect(res.status).toBe(201);
        expect(await flagValue(h, "pay-new-checkout")).toBe(true);
      } else {
        expect(res.status).toBe(422);
        const body = (await res.json()) as { code: string; message: string };
        expect(body.code).toBe("ERR_SNAPSHOT_POLICY");
        expect(body.message).toContain("flags.pay-new-checkout: needs 2 approvals");
        expect(await flagValue(h, "pay-new-checkout")).toBe(false);
      }
    });
  }

  it("a revoked approver's signature counts for nothing", async () => {
    const environment = "appr-revoked";
    await approvedBase(environment);
    const revoked = { ...POLICY, keys: { ...POLICY.keys, carol: undefined }, revoked: ["bob"] };
    const h = harness(policyEnv(environment, JSON.parse(JSON.stringify(revoked))));
    // The version-1 snapshot itself was approved by bob: refused now, so nothing serves.
    const next = baseDoc({ fallthrough: "on" });
    const jws = await policySnapshot(next, environment, {
      version: 2,
      groups: [await approvals(next, environment, ["alice", "bob"])],
    });
    const res = await h.fetch("/v1/snapshot", intake(jws));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain("has 1 (alice)");
    const { body } = await health(h);
    expect(body.lastError?.code).toBe("ERR_SNAPSHOT_POLICY");
  });

  it("a team key may change its own flags, not another team's (the rest carried by earlier approvals)", async () => {
    const environment = "appr-team";
    const { group } = await approvedBase(environment);
    const h = harness(policyEnv(environment));
    const own = baseDoc();
    own.flags["web-banner"] = { ...own.flags["web-banner"], fallthrough: "off" } as never;
    const ok = await policySnapshot(own, environment, { version: 2, signer: "team-web", groups: [group] });
    expect((await h.fetch("/v1/snapshot", intake(ok))).status).toBe(201);
    expect(await flagValue(h, "web-banner")).toBe(false);

    const other = structuredClone(own);
    other.flags["search-v2"] = { ...other.flags["search-v2"], fallthrough: "on" } as never;
    const bad = await policySnapshot(other, environment, { version: 3, signer: "team-web", groups: [group] });
    const res = await h.fetch("/v1/snapshot", intake(bad));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain("flags.search-v2: not signed by");
  });
});

describe("deleting a guarded flag", () => {
  const without = () => {
    const d = baseDoc();
    delete (d.flags as Record<string, unknown>)["pay-new-checkout"];
    return d;
  };

  it("needs its approvals: manifests naming it in `removed`", async () => {
    const environment = "appr-remove";
    await approvedBase(environment);
    const h = harness(policyEnv(environment));
    const doc = without();
    const alone = await policySnapshot(doc, environment, { version: 2 });
    const res = await h.fetch("/v1/snapshot", intake(alone));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain(
      "flags.pay-new-checkout (removed): needs 2",
    );

    let group = groupOf(await manifestOf(doc, { environment, removed: ["pay-new-checkout"] }));
    for (const kid of ["alice", "bob"] as const) group = await approveGroup(group, await policySigner(kid));
    const approved = await policySnapshot(doc, environment, { version: 2, groups: [group] });
    expect((await h.fetch("/v1/snapshot", intake(approved))).status).toBe(201);
    expect(await flagValue(h, "pay-new-checkout")).toBeUndefined();
  });

  it("a KV writer with one key deleting it: a cold isolate refuses the snapshot", async () => {
    const environment = "appr-remove-kv";
    await approvedBase(environment);
    const forged = await policySnapshot(without(), environment, { version: 2 });
    await kvWriter(environment, { current: forged, versions: [[2, forged]] });
    const cold = harness(policyEnv(environment));
    expect(await served(cold)).toBe(1);
    expect((await health(cold)).body.lastError?.message).toContain("flags.pay-new-checkout (removed)");
  });
});

describe("break-glass: the on-call key alone", () => {
  it("may kill an approved guarded flag, with a reason", async () => {
    const environment = "appr-oncall-kill";
    const on = baseDoc({ fallthrough: "on" });
    const { group } = await approvedBase(environment, on);
    const h = harness(policyEnv(environment));
    expect(await flagValue(h, "pay-new-checkout")).toBe(true);
    const killed = baseDoc({ fallthrough: "on", enabled: false });
    const jws = await policySnapshot(killed, environment, {
      version: 2,
      signer: "oncall",
      groups: [group],
      audit: breakGlass("INC-42 double charges", ["pay-new-checkout"]),
    });
    expect((await h.fetch("/v1/snapshot", intake(jws))).status).toBe(201);
    expect(await flagValue(h, "pay-new-checkout")).toBe(false);
    // The reason is in the history, from the signed audit block.
    const history = await h.fetch("/v1/snapshot/history", {
      headers: { authorization: "Bearer test-publish-token" },
    });
    const { records } = (await history.json()) as {
      records: { version: number; kid: string; breakGlass?: string }[];
    };
    expect(records.find((r) => r.version === 2)).toMatchObject({
      kid: "oncall",
      breakGlass: "INC-42 double charges",
    });

    // And may put the approved definition back.
    const back = await policySnapshot(on, environment, {
      version: 3,
      signer: "oncall",
      groups: [group],
      audit: breakGlass("INC-42 resolved", []),
    });
    expect((await h.fetch("/v1/snapshot", intake(back))).status).toBe(201);
    expect(await flagValue(h, "pay-new-checkout")).toBe(true);
  });

  const refused: { name: string; doc: () => FlagsDocument; reason?: string; needle: string }[] = [
    {
      name: "a kill without a reason",
      doc: () => baseDoc({ enabled: false }),
      reason: "",
      needle: "must carry audit.breakGlass.reason",
    },
    {
      name: "turning a guarded flag on",
      doc: () => baseDoc({ fallthrough: "on" }),
      needle: "flags.pay-new-checkout",
    },
    {
      name: "widening a rollout",
      doc: () => baseDoc({ fallthrough: { split: { on: 50, off: 50 } } }),
      needle: "flags.pay-new-checkout",
    },
    {
      name: "turning an unguarded flag on",
      doc: () => {
        const d = baseDoc();
        d.flags["search-v2"] = { ...d.flags["search-v2"], fallthrough: "on" } as never;
        return d;
      },
      needle: "flags.search-v2",
    },
    {
      name: "a kill that also changes the off value",
      doc: () => baseDoc({ enabled: false, variants: { on: true, off: true } }),
      needle: "flags.pay-new-checkout",
    },
  ];
  for (const [i, c] of refused.entries()) {
    it(`may not: ${c.name}`, async () => {
      const environment = `appr-oncall-no-${i}`;
      const { group } = await approvedBase(environment);
      const h = harness(policyEnv(environment));
      const jws = await policySnapshot(c.doc(), environment, {
        version: 2,
        signer: "oncall",
        groups: [group],
        audit: breakGlass(c.reason ?? "INC-7", ["pay-new-checkout"]),
      });
      const res = await h.fetch("/v1/snapshot", intake(jws));
      expect(res.status).toBe(422);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe("ERR_SNAPSHOT_POLICY");
      expect(body.message).toContain(c.needle);
    });
  }
});

describe("a KV writer holding one publisher key writes KV directly", () => {
  const attacks: { name: string; doc: () => FlagsDocument }[] = [
    { name: "turns the payments flag on", doc: () => baseDoc({ fallthrough: "on" }) },
    {
      name: "drops the payments tag and turns it on (the recorded class still applies)",
      doc: () => baseDoc({ tags: ["checkout"], fallthrough: "on" }),
    },
    {
      name: "moves the flag to another owner and kind and turns it on",
      doc: () => baseDoc({ tags: [], owner: "web-team", fallthrough: "on" }),
    },
  ];
  for (const [i, a] of attacks.entries()) {
    it(`${a.name}: a cold isolate refuses it and serves the last good; /healthz says why`, async () => {
      const environment = `appr-kv-${i}`;
      await approvedBase(environment);
      const forged = await policySnapshot(a.doc(), environment, { version: 2 });
      await kvWriter(environment, { current: forged, versions: [[2, forged]] });

      const events: Record<string, unknown>[] = [];
      const cold = harness(policyEnv(environment), { log: (e) => events.push(e) });
      expect(await served(cold)).toBe(1);
      expect(await flagValue(cold, "pay-new-checkout")).toBe(false);
      const { status, body } = await health(cold);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        status: "degraded",
        version: 1,
        lastError: { code: "ERR_SNAPSHOT_POLICY" },
      });
      expect(body.lastError?.message).toContain("flags.pay-new-checkout");
      expect(events).toContainEqual(expect.objectContaining({ code: "ERR_SNAPSHOT_POLICY", level: "warn" }));
    });
  }

  it("a warm isolate refuses it at its next refresh and keeps serving", async () => {
    const environment = "appr-kv-warm";
    await approvedBase(environment);
    const warm = harness({ ...policyEnv(environment), REFRESH_INTERVAL_SECONDS: "1" });
    expect(await served(warm)).toBe(1);
    const forged = await policySnapshot(baseDoc({ tags: [], fallthrough: "on" }), environment, {
      version: 2,
    });
    await kvWriter(environment, { current: forged });
    await new Promise((r) => setTimeout(r, 1100));
    await warm.fetch("/healthz");
    const { body } = await health(warm);
    expect(body).toMatchObject({ version: 1, lastError: { code: "ERR_SNAPSHOT_POLICY" } });
    expect(await flagValue(warm, "pay-new-checkout")).toBe(false);
  });

  it("without the recorded class (no beacon), dropping the tag would pass: why the beacon records it", async () => {
    const environment = "appr-kv-nobeacon";
    await approvedBase(environment);
    const forged = await policySnapshot(baseDoc({ tags: [], fallthrough: "on" }), environment, {
      version: 2,
    });
    await kvWriter(environment, { current: forged });
    const noBeacon = harness({ ...policyEnv(environment), BEACON: undefined });
    expect(await served(noBeacon)).toBe(2);
  });
});

describe("the policy setting", () => {
  it("an unusable EDGEFLAGS_POLICY makes the worker misconfigured, naming each problem", async () => {
    const h = harness({
      ...policyEnv("appr-bad-policy"),
      EDGEFLAGS_POLICY: JSON.stringify({
        keys: { ghost: { roles: ["approver"] } },
        approvals: { "tag:x": 3 },
      }),
    });
    const res = await h.fetch("/healthz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; error: string };
    expect(body.status).toBe("misconfigured");
    expect(body.error).toContain("EDGEFLAGS_POLICY");
    expect(body.error).toContain("keys.ghost: no key with this kid in EDGEFLAGS_PUBLIC_KEYS");
    expect(body.error).toContain("approvals.tag:x: needs 3 approvers");
  });
});

describe("key rotation and revocation (a new policy deployed: fresh isolates)", () => {
  it("adding an approver: its approval counts once the policy names it", async () => {
    const environment = "appr-rot-add";
    await approvedBase(environment);
    const next = baseDoc({ fallthrough: "on" });
    const jws = await policySnapshot(next, environment, {
      version: 2,
      groups: [await approvals(next, environment, ["alice", "carol-payments"])],
    });
    const { "carol-payments": _carol, ...without } = POLICY.keys;
    const before = harness(policyEnv(environment, { ...POLICY, keys: without }));
    const refused = await before.fetch("/v1/snapshot", intake(jws));
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { message: string }).message).toContain("has 1 (alice)");
    const after = harness(policyEnv(environment));
    expect((await after.fetch("/v1/snapshot", intake(jws))).status).toBe(201);
    expect(await flagValue(after, "pay-new-checkout")).toBe(true);
  });

  it("revoking a compromised approver: its signatures stop counting at once, in the live snapshot too", async () => {
    const environment = "appr-rot-revoke";
    const { doc } = await approvedBase(environment);
    const revoked = { ...POLICY, revoked: ["bob"] };
    const cold = harness(policyEnv(environment, revoked));
    const { status, body } = await health(cold);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: "no_snapshot", lastError: { code: "ERR_SNAPSHOT_POLICY" } });
    expect(body.lastError?.message).toContain("has 1 (alice)");
    // Re-approved by the remaining keys, the same document serves again.
    const reapproved = await policySnapshot(doc, environment, {
      version: 2,
      groups: [await approvals(doc, environment, ["alice", "carol-payments"])],
    });
    expect((await cold.fetch("/v1/snapshot", intake(reapproved))).status).toBe(201);
    expect(await served(cold)).toBe(2);
  });

  it("rotating the on-call key: the old one's kill is refused, the new one's accepted", async () => {
    const environment = "appr-rot-oncall";
    const { group } = await approvedBase(environment, baseDoc({ fallthrough: "on" }));
    const rotated = {
      ...POLICY,
      keys: { ...POLICY.keys, "qa-preview": { roles: ["oncall" as const] } },
      revoked: ["oncall"],
    };
    const h = harness(policyEnv(environment, rotated));
    const killed = baseDoc({ fallthrough: "on", enabled: false });
    const kill = (signer: PolicyKid, version: number) =>
      policySnapshot(killed, environment, {
        version,
        signer,
        groups: [group],
        audit: breakGlass("INC-9", ["pay-new-checkout"]),
      });
    const old = await h.fetch("/v1/snapshot", intake(await kill("oncall", 2)));
    expect(old.status).toBe(422);
    expect(((await old.json()) as { message: string }).message).toContain("signing key oncall is revoked");
    expect((await h.fetch("/v1/snapshot", intake(await kill("qa-preview", 2)))).status).toBe(201);
    expect(await flagValue(h, "pay-new-checkout")).toBe(false);
  });
});
