/**
 * The lint ratchet: `lint` still fails on hygiene debt, but `publish` refuses only lint errors the
 * change introduces or makes worse compared with the live snapshot; an audited `--allow-lint RULE
 * --reason TEXT` lets new ones through and is signed into the audit block. Against the worker in
 * workerd, plus the pure parts (the ratchet's counting, the worker's shape check of the new fields).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ratchet } from "../../src/publisher/guards/index";
import { generateKeys } from "../../src/publisher/keys";
import type { LintFinding } from "../../src/publisher/lint";
import { snapshotPayload } from "../../src/snapshot/format";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";
import { type LiveProject, liveProject } from "./guard-helpers";
import { cli, flagsYaml } from "./helpers";

/** banner and checkout, an expired release flag, an urgent fix, an ownerless ops flag, and `more`. */
const doc = (o: { fix?: "on" | "off"; helperKind?: string; more?: string } = {}) =>
  flagsYaml(
    "Hello",
    `  old-banner:
    owner: web
    kind: release
    expires: 2020-01-01
    cleanupIssue: WEB-1
    fallthrough: off
  payments-fix:
    owner: payments
    kind: ops
    runbook: https://runbooks.example.com/payments
    fallthrough: ${o.fix ?? "off"}
  helper:
    kind: ${o.helperKind ?? "ops"}
    runbook: https://runbooks.example.com/helper
    fallthrough: off
${o.more ?? ""}`,
  );

const newPromo =
  "  new-promo:\n    owner: web\n    kind: release\n    expires: 2021-03-01\n    cleanupIssue: WEB-2\n    fallthrough: off\n";

let w: LiveProject;

beforeAll(async () => {
  w = await liveProject("ratchet");
}, 60_000);

afterAll(async () => {
  await w?.worker.dispose();
});

describe("publish against the live snapshot", () => {
  it("a first publish has nothing live to compare with: an expired flag blocks it", async () => {
    const r = await cli(["publish", w.p.write("flags.yaml", doc())], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/flags\.yaml:\d+:\d+: error: release flag "old-banner" expired on 2020-01-01/);
    expect(r.stdout).toContain('--allow-lint expired --reason "..."');
    expect(r.stderr).toMatch(
      /1 new lint error in \S*flags\.yaml \(nothing is live to compare with\): nothing was published/,
    );
    expect(await w.version(1)).toBeNull();
  });

  it("an audited override passes and is signed into the snapshot's audit block", async () => {
    const r = await cli(
      [
        "publish",
        w.p.write("flags.yaml", doc()),
        "--allow-lint",
        "expired",
        "--reason",
        "INC-7: seed",
        "--json",
      ],
      w.p.dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const override = { rule: "expired", reason: "INC-7: seed", findings: ["flags.old-banner"] };
    expect(r.json()).toMatchObject({ version: 1, overrides: [override] });
    expect(r.stderr).toMatch(/--allow-lint expired lets 1 new finding through \(flags\.old-banner\)/);
    expect((await w.live()).audit).toMatchObject({ actor: "test-actor", overrides: [override] });
  });

  it("expired flag plus an unrelated fix: the fix is published, the expired flag is a warning", async () => {
    const file = w.p.write("fix.yaml", doc({ fix: "on" }));
    const r = await cli(["publish", file, "--allow-lint", "missing-owner", "--reason", "unused"], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /fix\.yaml:\d+:\d+: warning: release flag "old-banner" expired on 2020-01-01: .* \[expired\] \(already live, not blocking\)/,
    );
    expect(r.stdout).toMatch(/published version 2 \(was 1\) to ratchet: live, 1 changed \(payments-fix/);
    // An override with nothing to let through is not recorded.
    expect(r.stderr).toMatch(
      /--allow-lint missing-owner: this change adds no missing-owner error, nothing to allow \(not recorded\)/,
    );
    const live = await w.live();
    expect(live.version).toBe(2);
    expect(live.audit?.overrides).toBeUndefined();
    // lint itself still fails CI on the debt.
    const lint = await cli(["lint", file], w.p.dir);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toMatch(/error: release flag "old-banner" expired/);
  });

  it("a change adding a new expired flag is refused, naming it (the old one stays a warning)", async () => {
    const r = await cli(["publish", w.p.write("promo.yaml", doc({ fix: "on", more: newPromo }))], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /promo\.yaml:\d+:\d+: error: release flag "new-promo" expired on 2021-03-01: .* \[expired\] \(new: not in live version 2\)/,
    );
    expect(r.stdout).toMatch(/warning: release flag "old-banner" expired .*\(already live, not blocking\)/);
    expect(r.stderr).toMatch(
      /1 new lint error in \S*promo\.yaml \(not in live version 2\): nothing was published/,
    );
    expect((await w.live()).version).toBe(2);
  });

  it("a change that makes a flag worse (a warning becoming errors) is refused", async () => {
    const r = await cli(
      ["publish", w.p.write("worse.yaml", doc({ fix: "on", helperKind: "experiment" })), "--json"],
      w.p.dir,
    );
    expect(r.code).toBe(1);
    const { findings } = r.json<{ findings: { rule: string; path: string[]; ratchet?: string }[] }>();
    expect(findings.filter((f) => f.ratchet === "new").map((f) => [f.rule, f.path[1]])).toEqual([
      ["missing-owner", "helper"],
      ["missing-expires", "helper"],
    ]);
    expect(findings.find((f) => f.rule === "expired")?.ratchet).toBe("live");
  });

  it("--allow-lint lets only the new findings of that rule through, and records just those", async () => {
    const r = await cli(
      [
        "publish",
        w.p.write("promo.yaml", doc({ fix: "on", more: newPromo })),
        "--allow-lint",
        "expired",
        "--reason",
        "launch today, INC-9",
      ],
      w.p.dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await w.live()).audit).toMatchObject({
      overrides: [{ rule: "expired", reason: "launch today, INC-9", findings: ["flags.new-promo"] }],
    });
  });

  it("--allow-lint needs a known rule and a reason (usage, exit 2)", async () => {
    const file = w.p.write("promo.yaml", doc({ more: newPromo }));
    const unknown = await cli(["publish", file, "--allow-lint", "expiry", "--reason", "x"], w.p.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /unknown lint rule "expiry" for --allow-lint; rules: expired, missing-owner/,
    );
    const noReason = await cli(["publish", file, "--allow-lint", "expired"], w.p.dir);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--allow-lint needs --reason TEXT/);
  });
});

describe("the ratchet's counting", () => {
  const f = (
    rule: LintFinding["rule"],
    flag: string,
    severity: LintFinding["severity"] = "error",
  ): LintFinding => ({
    rule,
    severity,
    path: ["flags", flag, "expires"],
    message: `${rule} ${flag}`,
  });

  it("is per rule and flag: a second finding of the same kind, or a warning turned error, is new", () => {
    const next = [
      f("expired", "a"),
      f("expired", "b"),
      f("missing-owner", "c"),
      f("missing-kind", "d", "warning"),
    ];
    const live = [f("expired", "a"), f("missing-owner", "c", "warning"), f("expired", "z")];
    const { blocking, debt } = ratchet(next, live);
    expect(debt.map((x) => x.message)).toEqual(["expired a"]);
    expect(blocking.map((x) => x.message)).toEqual(["expired b", "missing-owner c"]);
    const twice = ratchet(
      [f("unreachable-rule", "a"), f("unreachable-rule", "a")],
      [f("unreachable-rule", "a")],
    );
    expect([twice.debt.length, twice.blocking.length]).toEqual([1, 1]);
  });
});

describe("the worker's shape check of the new audit fields", () => {
  const flags = { flags: { a: { fallthrough: "on" } } };
  async function verify(audit: unknown) {
    const keys = await generateKeys("shape");
    const jws = await signSnapshot(
      snapshotPayload(flags, { environment: "t", version: 1, audit: audit as never }),
      await importSigningKey(keys.privateJwk),
    );
    return verifySnapshot(jws, {
      keys: await loadKeyRing(keys.publicJwks),
      environment: "t",
      now: Date.now(),
    });
  }
  const changes = { added: [], removed: [], changed: [], text: "no changes" };

  it("accepts snapshots without them and with well-formed ones; refuses malformed ones", async () => {
    await expect(verify({ actor: "a", changes })).resolves.toBeDefined();
    await expect(
      verify({
        actor: "a",
        changes,
        overrides: [{ rule: "expired", reason: "r", findings: ["flags.a"] }],
        killed: [
          { flag: "a", previousEnabled: null },
          { flag: "b", previousEnabled: true },
        ],
      }),
    ).resolves.toBeDefined();
    await expect(verify({ actor: "a", changes, overrides: [{ rule: "expired" }] })).rejects.toMatchObject({
      code: "ERR_SNAPSHOT_PAYLOAD",
    });
    await expect(
      verify({ actor: "a", changes, killed: [{ flag: "a", previousEnabled: "yes" }] }),
    ).rejects.toMatchObject({
      code: "ERR_SNAPSHOT_PAYLOAD",
    });
  });
});
