/**
 * Approvals end to end, against the worker in workerd with a trust policy (EDGEFLAGS_POLICY) and the
 * test keys of test/fixtures/policy-keys.json: propose -> approve -> publish with the CI key -> served;
 * refused early (nothing pushed) with too few approvals; tampered proposals; the same key twice; an
 * on-call kill as a break-glass (and the kills it cannot do); carry-forward, so a scoped team key can
 * publish its own flag; unkill and rollback keeping approvals.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import { startLocalWorker } from "../../scripts/lib/local-worker";
import { decodeManifest, signatureKid } from "../../src/policy/approvals";
import { decodeSnapshot } from "../../src/publisher/snapshot";
import { workerTarget } from "../../src/publisher/targets/worker";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { fixtureKeys, KIDS, POLICY } from "./approvals-helpers";
import { cli } from "./helpers";

const ENV = "approvals";
const TOKEN = "approvals-token";
const fixture = fixtureKeys;

/** banner (web-team), checkout and express (payments, 2 approvals; express needs checkout on), search. */
function flags(banner: string, checkout = "on"): string {
  return `flags:
  banner:
    owner: web-team
    kind: ops
    clientVisible: true
    variants: { shown: ${JSON.stringify(banner)}, hidden: "" }
    offVariant: hidden
    fallthrough: shown
  checkout:
    owner: payments
    tags: [payments]
    kind: ops
    clientVisible: true
    fallthrough: ${checkout}
  express:
    owner: payments
    tags: [payments]
    kind: ops
    clientVisible: true
    prerequisites: [{ flag: checkout, variants: ["on"] }]
    fallthrough: on
  search:
    owner: search-team
    kind: ops
    clientVisible: true
    fallthrough: on
`;
}

let worker: LocalWorker;
let dir: string;
const key = (kid: string) => join(dir, "keys", `${kid}.json`);
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (argv: string[]) => cli(argv, dir);
/** The CLI with a config that has no policy (a publisher who never set one up). */
const runWithoutPolicy = (argv: string[]) => cli([...argv, "--config", join(dir, "no-policy.json")], dir);
const readJson = <T = Record<string, unknown>>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const target = () => workerTarget({ url: worker.url, token: TOKEN });

async function live() {
  const jws = (await target().live()).jws;
  return jws === null ? undefined : decodeSnapshot(jws);
}

async function served(): Promise<{ version: number; flags: Record<string, unknown> }> {
  const res = await fetch(`${worker.url}/v1/flags?targetingKey=u1`);
  return (await res.json()) as { version: number; flags: Record<string, unknown> };
}

/** Who signed the approval groups of the live snapshot. */
async function liveSigners(): Promise<string[]> {
  const groups = (await live())?.approvals ?? [];
  return [...new Set(groups.flatMap((g) => g.signatures.map((s) => signatureKid(s) as string)))].sort();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgeflags-approvals-"));
  mkdirSync(join(dir, ".edgeflags"));
  mkdirSync(join(dir, "keys"));
  for (const kid of KIDS) writeFileSync(key(kid), JSON.stringify(fixture[kid]?.private));
  const jwks = JSON.stringify({ keys: KIDS.map((kid) => fixture[kid]?.public) });
  write("jwks.json", jwks);
  write("policy.json", JSON.stringify(POLICY, null, 2));
  worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: ENV,
      EDGEFLAGS_PUBLIC_KEYS: jwks,
      EDGEFLAGS_POLICY: JSON.stringify(POLICY),
      PUBLISH_TOKEN: TOKEN,
      REFRESH_INTERVAL_SECONDS: "1",
    },
  });
  const config = {
    url: worker.url,
    environment: ENV,
    publishToken: TOKEN,
    publicKeysFile: "../jwks.json",
    waitTimeoutSeconds: 10,
  };
  // Paths in the config file are relative to it (.edgeflags/).
  write(".edgeflags/config.json", JSON.stringify({ ...config, policyFile: "../policy.json" }));
  writeFileSync(join(dir, "no-policy.json"), JSON.stringify({ ...config, publicKeysFile: "jwks.json" }));
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("propose, approve, publish", () => {
  it("propose writes flags.proposal.json and says who must approve what", async () => {
    const file = write("flags.yaml", flags("Hello"));
    const r = await run(["propose", file, "--note", "PR #1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{ coverage: { ok: boolean; items: unknown[] }; signer: string }>();
    expect(report).toMatchObject({ ok: true, written: true, liveVersion: null, signer: "ci-publisher" });
    expect(report.coverage.ok).toBe(false);
    const items = Object.fromEntries(
      (report.coverage.items as { item: string }[]).filter((i) => i.item).map((i) => [i.item, i]),
    );
    expect(items["flags.checkout"]).toMatchObject({
      needs: 2,
      by: [],
      ok: false,
      candidates: ["alice", "bob", "carol-payments"],
    });
    // The signing publisher attests the flags that need no approvals itself.
    expect(items["flags.banner"]).toBeUndefined();

    const proposal = readJson<{ format: string; document: unknown; approval: { signatures: [] } }>(
      join(dir, "flags.proposal.json"),
    );
    expect(proposal).toMatchObject({
      format: "edgeflags-proposal/1",
      environment: ENV,
      note: "PR #1",
      source: { path: "flags.yaml", digest: expect.stringMatching(/^sha256:/) },
      base: null,
      diff: ["+ banner", "+ checkout", "+ express", "+ search"],
      approval: { signatures: [] },
    });

    // Again, unchanged: the file is left as it is.
    const text = await run(["propose", file, "--note", "PR #1"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("flags.proposal.json is up to date (0 approval(s))");
    expect(text.stdout).toContain(
      "  flags.checkout: needs 2 approvals by distinct approver keys, has 0; can approve: alice, bob, carol-payments\n",
    );
  });

  it("publish with one approval is refused before the push, with what each item needs", async () => {
    const a = await run(["approve", "flags.proposal.json", "--key", key("alice")]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain("against: nothing published (every flag is new)\n+ banner\n");
    expect(a.stdout).toMatch(/approved flags\.proposal\.json as alice: signed by alice\n/);

    const r = await run([
      "publish",
      "flags.yaml",
      "--proposal",
      "flags.proposal.json",
      "--key",
      key("ci-publisher"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("would refuse this snapshot signed by ci-publisher, so nothing was pushed");
    expect(r.stderr).toContain(
      "  flags.checkout: needs 2 approvals by distinct approver keys, has 1 (alice); can approve: alice, bob, carol-payments\n",
    );
    expect(r.stderr).toContain("  flags.express: needs 2 approvals");
    expect(r.stderr).not.toContain("pushing version");
    expect(await live()).toBeUndefined();
  });

  it("the same key approving twice replaces its signature and counts once", async () => {
    const again = await run(["approve", "flags.proposal.json", "--key", key("alice"), "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ kid: "alice", replaced: true, signers: ["alice"] });
    const proposal = readJson<{ approval: { signatures: unknown[] } }>(join(dir, "flags.proposal.json"));
    expect(proposal.approval.signatures).toHaveLength(1);
    const status = await run(["status", "flags.proposal.json", "--exit-code"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(
      "flags.proposal.json: pending (publishing with key ci-publisher); signed by alice",
    );
    expect(status.stdout).toContain(
      "flags.checkout: needs 2 approvals by distinct approver keys, has 1 (alice)",
    );
  });

  /** What a tamper may touch. */
  type Editable = { environment: string; document: { flags: Record<string, Record<string, unknown>> } };
  it.each<[string, (p: Editable) => void, RegExp]>([
    [
      "a flag changed in the document",
      (p) => {
        p.document.flags.checkout!.fallthrough = "off";
      },
      /does not match the manifest of its approval group .*flags\.checkout: the approved definition is another one/,
    ],
    [
      "a flag added to the document",
      (p) => {
        p.document.flags.extra = { owner: "x", kind: "ops", fallthrough: "on" };
      },
      /flags\.extra: not in the approved manifest/,
    ],
    [
      "the environment changed",
      (p) => {
        p.environment = "production";
      },
      /approval group is for environment "approvals", the proposal says "production"/,
    ],
    [
      "a document that does not validate",
      (p) => {
        p.document.flags.checkout!.fallthrough = "nope";
      },
      /its document is not a valid flags document/,
    ],
  ])("approve refuses a tampered proposal: %s", async (_name, tamper, message) => {
    const proposal = readJson<Editable>(join(dir, "flags.proposal.json"));
    tamper(proposal);
    write("tampered.proposal.json", JSON.stringify(proposal));
    const r = await run(["approve", "tampered.proposal.json", "--key", key("bob")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    // Nothing was signed.
    expect(
      readJson<{ approval: { signatures: unknown[] } }>(join(dir, "tampered.proposal.json")).approval
        .signatures,
    ).toHaveLength(1);
  });

  it("approve refuses a proposal for another environment than the one set", async () => {
    const r = await run(["approve", "flags.proposal.json", "--key", key("bob"), "--env", "production"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /a proposal for environment "approvals", but the environment here is "production"/,
    );
  });

  it("publish refuses a proposal of another document", async () => {
    const other = write("other.yaml", flags("Other"));
    const r = await run([
      "publish",
      other,
      "--proposal",
      "flags.proposal.json",
      "--key",
      key("ci-publisher"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flags\.proposal\.json approves another document than .*other\.yaml/);
    expect(r.stderr).toContain("  flags.banner: the approved definition is another one");
    expect(await live()).toBeUndefined();
  });

  it("with alice and bob, the CI key publishes it and the worker serves it", async () => {
    const b = await run(["approve", "flags.proposal.json", "--key", key("bob")]);
    expect(b.code, b.stderr).toBe(0);
    const status = await run(["status", "flags.proposal.json", "--exit-code"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain(
      "flags.proposal.json: ready to publish (with key ci-publisher); signed by alice, bob",
    );

    const r = await run([
      "publish",
      "flags.yaml",
      "--proposal",
      "flags.proposal.json",
      "--key",
      key("ci-publisher"),
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      version: 1,
      confirmed: true,
      approvals: { groups: 1, signers: ["alice", "bob", "ci-publisher"] },
      policy: { ok: true },
    });
    expect(await served()).toEqual({
      version: 1,
      flags: { banner: "Hello", checkout: true, express: true, search: true },
    });
  });
});

describe("status", () => {
  it("shows the live version, who approved it and the policy", async () => {
    const r = await run(["status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^approvals: version 1 live on worker .*, issued .* by ci-publisher \(test-actor\)\n/,
    );
    expect(r.stdout).toContain(
      "  approvals carried: alice, bob, ci-publisher (1 group(s))\n  passes the trust policy below\n",
    );
    expect(r.stdout).toContain("  approver: alice, bob, carol-payments (tag:payments)\n");
    expect(r.stdout).toContain("  approvals: tag:payments needs 2\n");
  });
});

describe("carry-forward", () => {
  it("a scoped team key publishes its own flag: the earlier approvals and the CI key's attestation are carried", async () => {
    // Without a policy configured here: the CLI still carries the live approvals.
    const file = write("flags-web.yaml", flags("Hello web"));
    const r = await runWithoutPolicy(["publish", file, "--key", key("team-web"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      version: 2,
      approvals: { signers: ["alice", "bob", "ci-publisher", "team-web"] },
    });
    expect(await served()).toMatchObject({ version: 2, flags: { banner: "Hello web" } });
  });

  it("the worker refuses the same change without the approvals (what carrying them prevents)", async () => {
    const before = (await live())!;
    const banner = before.flags.flags.banner!;
    const doc = {
      ...before.flags,
      flags: { ...before.flags.flags, banner: { ...banner, variants: { shown: "Bare", hidden: "" } } },
    };
    const signer = await importSigningKey(fixture["team-web"]!.private);
    const jws = await signSnapshot(snapshotPayload(doc, { environment: ENV, version: 3 }), signer);
    const err = await target()
      .push(jws)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/flags\.checkout: needs 2 approvals .*\[ERR_SNAPSHOT_POLICY\]/),
    });
  });

  it("the team key cannot change a payments flag without approvals: refused here, with the list", async () => {
    const r = await run([
      "publish",
      write("flags-pay.yaml", flags("Hello web", "off")),
      "--key",
      key("team-web"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "  flags.checkout: needs 2 approvals by distinct approver keys, has 0; can approve: alice, bob, carol-payments\n",
    );
    // express depends on checkout: its digest changed too.
    expect(r.stderr).toContain("  flags.express: needs 2 approvals by distinct approver keys, has 0;");
    expect(await served()).toMatchObject({ version: 2 });
  });

  it("without a policy here, the worker's refusal is shown with its reasons", async () => {
    const r = await runWithoutPolicy(["publish", join(dir, "flags-pay.yaml"), "--key", key("team-web")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the worker's trust policy refused the snapshot [ERR_SNAPSHOT_POLICY]");
    expect(r.stderr).toMatch(
      /\n {2}flags\.checkout: needs 2 approvals by distinct approver keys in scope, has 0\n/,
    );
    expect(r.stderr).toMatch(/configure the policy the worker has/);
  });
});

describe("on-call kill (break-glass)", () => {
  it("needs a reason", async () => {
    const r = await run(["kill", "checkout", "express", "--key", key("oncall")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--reason is required/);
  });

  it("--break-glass (no policy here) needs a reason as well, on unkill too", async () => {
    const r = await runWithoutPolicy(["unkill", "checkout", "--break-glass", "--key", key("oncall")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--break-glass: a snapshot an on-call key signs alone is a break-glass and must say why: pass --reason TEXT/,
    );
  });

  it("without a policy here and without --break-glass, the worker refuses it and says why", async () => {
    const r = await runWithoutPolicy([
      "kill",
      "checkout",
      "express",
      "--reason",
      "INC-1",
      "--key",
      key("oncall"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "key oncall is an on-call key: its snapshots must carry audit.breakGlass.reason",
    );
    expect(r.stderr).toMatch(/pass --break-glass/);
  });

  it.each<[string, string[], RegExp]>([
    [
      "a flag outside its scope",
      ["search"],
      /flags\.search: disabled by on-call key oncall, whose scope does not cover it/,
    ],
    [
      "a flag another one depends on, alone",
      ["checkout"],
      /flags\.express depends on checkout \(prerequisite\), so killing it changes express's definition, and nobody approved that one/,
    ],
  ])("refuses %s before the push", async (_name, keys, message) => {
    const r = await run(["kill", ...keys, "--reason", "INC-2", "--key", key("oncall")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("oncall is an on-call key: alone it may only disable flags in its scope");
    expect(await served()).toMatchObject({ version: 2 });
  });

  it("kills checkout and express with a reason: accepted by the worker, recorded as a break-glass", async () => {
    const r = await run([
      "kill",
      "checkout",
      "express",
      "--reason",
      "INC-3 payments down",
      "--key",
      key("oncall"),
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 3, breakGlass: "INC-3 payments down", policy: { ok: true } });
    expect(await served()).toMatchObject({
      version: 3,
      flags: { checkout: false, express: false, banner: "Hello web" },
    });
    expect((await live())?.audit?.breakGlass).toEqual({ reason: "INC-3 payments down" });
  });

  it("unkill by the on-call key puts back the approved definitions", async () => {
    const r = await run(["unkill", "checkout", "express", "--reason", "INC-3 fixed", "--key", key("oncall")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('break-glass by an on-call key: "INC-3 fixed"');
    expect(await served()).toMatchObject({ version: 4, flags: { checkout: true, express: true } });
  });

  it("history shows each break-glass with its key and reason, from the signed audit block", async () => {
    const r = await run(["history", "--limit", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("break-glass by oncall: INC-3 fixed");
    expect(r.stdout).toContain("break-glass by oncall: INC-3 payments down");
  });
});

describe("rollback", () => {
  it("rolls back to version 1 with its own approvals", async () => {
    const r = await run(["rollback", "--to", "1", "--key", key("ci-publisher")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trust policy: passed; approvals signed in: alice, bob, ci-publisher/);
    expect(await served()).toMatchObject({ version: 5, flags: { banner: "Hello" } });
    // The live groups all still attest something; none is a full copy of another.
    for (const g of (await live())?.approvals ?? []) expect(decodeManifest(g)?.environment).toBe(ENV);
    expect(await liveSigners()).toEqual(["alice", "bob", "ci-publisher", "team-web"]);
  });
});

describe("revoking an approver key", () => {
  it("status with the new policy says the live snapshot would fail; re-approving first keeps it valid", async () => {
    const revoked = write("policy-revoked.json", JSON.stringify({ ...POLICY, revoked: ["alice"] }));
    const before = await run(["status", "--policy", revoked]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain("fails the trust policy below: a worker with it refuses this snapshot");
    expect(before.stdout).toContain(
      "    flags.checkout: needs 2 approvals by distinct approver keys, has 1 (bob); can approve: bob, carol-payments\n",
    );
    expect(before.stdout).toContain("  revoked: alice\n");

    // The live document again, proposed under the new policy: bob's approval is carried, carol adds hers.
    const p = await run(["propose", "flags.yaml", "--out", "reapprove.proposal.json", "--policy", revoked]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain("no changes\n");
    expect(p.stdout).toContain("has 1 (bob); can approve: bob, carol-payments");
    expect((await run(["approve", "reapprove.proposal.json", "--key", key("carol-payments")])).code).toBe(0);
    const r = await run([
      "publish",
      "flags.yaml",
      "--proposal",
      "reapprove.proposal.json",
      "--force",
      "--policy",
      revoked,
      "--key",
      key("ci-publisher"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const after = await run(["status", "--policy", revoked, "--json"]);
    expect(after.json()).toMatchObject({ live: { version: 6, policy: { ok: true } } });
  });
});

describe("deleting a guarded flag", () => {
  const withoutExpress = () => flags("Hello").replace(/ {2}express:\n(?: {4}.*\n)+/, "");

  it("needs its approvals too: refused here without them", async () => {
    const file = write("no-express.yaml", withoutExpress());
    const r = await run(["publish", file, "--allow-removal", "express", "--key", key("ci-publisher")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "  flags.express (removed): needs 2 approvals by distinct approver keys, has 0; can approve: alice, bob, carol-payments\n",
    );
  });

  it("a proposal names the deletion, approvers see it, and with two of them it is published", async () => {
    const p = await run(["propose", "no-express.yaml", "--json"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json()).toMatchObject({
      proposal: "no-express.proposal.json",
      changes: { removed: ["express"] },
    });
    const proposal = readJson<{ approval: { payload: string; signatures: [] } }>(
      join(dir, "no-express.proposal.json"),
    );
    expect(decodeManifest(proposal.approval)?.removed).toEqual(["express"]);
    for (const kid of ["alice", "bob"]) {
      const a = await run(["approve", "no-express.proposal.json", "--key", key(kid)]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toContain("- express\n");
      expect(a.stdout).toContain("this approval also approves deleting flags.express\n");
    }
    const r = await run([
      "publish",
      "no-express.yaml",
      "--proposal",
      "no-express.proposal.json",
      "--allow-removal",
      "express",
      "--key",
      key("ci-publisher"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys((await served()).flags).sort()).toEqual(["banner", "checkout", "search"]);
  });
});
