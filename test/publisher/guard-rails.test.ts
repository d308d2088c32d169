/**
 * Guard rails on publish, against the worker in workerd: an unchanged document publishes nothing
 * (unless --force), --dry-run pushes nothing, removing flags needs --allow-removals or
 * --allow-removal KEY, and risky changes are called out under "attention:" without blocking.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveProject, liveProject } from "./guard-helpers";
import { cli, flagsYaml } from "./helpers";

const extra = (o: { adminEnabled?: boolean; searchOn?: number; ownerFirst?: boolean } = {}) => `  admin-tools:
${o.ownerFirst === false ? "    kind: permission\n    owner: platform" : "    owner: platform\n    kind: permission"}
${o.adminEnabled ? "" : "    enabled: false\n"}    fallthrough: on
  new-search:
    owner: search
    kind: release
    expires: 2099-01-01
    cleanupIssue: "search/app#12"
    dashboard: https://grafana.example.com/d/search
    fallthrough: { split: { on: ${o.searchOn ?? 10}, off: ${100 - (o.searchOn ?? 10)} } }
  old-promo:
    owner: web
    kind: ops
    runbook: https://runbooks.example.com/promo
    fallthrough: off
gates:
  - pattern: /checkout/*
    flag: checkout
    allow: [on]
    deny: { status: 404 }
`;

let w: LiveProject;

beforeAll(async () => {
  w = await liveProject("guards");
  const r = await cli(["publish", w.p.write("flags.yaml", flagsYaml("Hello", extra()))], w.p.dir);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await w?.worker.dispose();
});

describe("an unchanged document", () => {
  it("publishes nothing, even written in another key order; --force publishes it anyway", async () => {
    const file = w.p.write("same.yaml", flagsYaml("Hello", extra({ ownerFirst: false })));
    const r = await cli(["publish", file], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /no changes: nothing published \(live version 1 has the same flags, segments and gates/,
    );
    const json = await cli(["publish", file, "--json"], w.p.dir);
    expect(json.json()).toEqual({ ok: true, file, published: false, unchanged: true, liveVersion: 1 });
    expect((await w.live()).version).toBe(1);
    expect(await w.version(2)).toBeNull();

    const forced = await cli(["publish", file, "--force", "--json"], w.p.dir);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json()).toMatchObject({ ok: true, version: 2, changes: { text: "no changes" } });
    expect((await w.live()).version).toBe(2);
  });
});

describe("--dry-run", () => {
  it("validates, lints, diffs against live, signs and checks, and pushes nothing", async () => {
    const file = w.p.write("hallo.yaml", flagsYaml("Hallo", extra()));
    const r = await cli(["publish", file, "--dry-run", "--json"], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{ steps: { step: string }[] }>();
    expect(report).toMatchObject({
      ok: true,
      dryRun: true,
      version: 3,
      previousVersion: 2,
      confirmed: false,
      changes: { changed: [{ flag: "banner" }] },
    });
    expect(report.steps.map((s) => s.step)).toEqual(["validate", "lint", "read live", "sign"]);
    expect(r.stderr).not.toMatch(/pushing/);

    const human = await cli(["publish", file, "--dry-run"], w.p.dir);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/banner/);
    expect(human.stdout).toMatch(
      /dry run: would publish version 3 \(was 2\) to guards: .*banner.*; signed and checked, nothing was pushed/,
    );
    expect((await w.live()).version).toBe(2);
    expect(await w.version(3)).toBeNull();
  });
});

describe("removals", () => {
  const wrong = () =>
    w.p.write("wrong.yaml", "flags:\n  other:\n    owner: x\n    kind: ops\n    fallthrough: off\n");

  it("refuses the wrong (valid) file and names every flag it would remove", async () => {
    const r = await cli(["publish", wrong()], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /this would remove 5 flags that live version 2 has \(admin-tools, banner, checkout, new-search, old-promo\): if that is intended pass --allow-removals, or --allow-removal KEY for each; if not, check this is the right file: nothing was published/,
    );
    const json = await cli(["publish", wrong(), "--json"], w.p.dir);
    expect(json.json()).toMatchObject({
      ok: false,
      removals: ["admin-tools", "banner", "checkout", "new-search", "old-promo"],
    });
    expect((await w.live()).version).toBe(2);
  });

  it("--allow-removal KEY allows only the flags named; --allow-removals allows them all", async () => {
    const some = await cli(
      ["publish", wrong(), "--allow-removal", "banner", "--allow-removal", "nope"],
      w.p.dir,
    );
    expect(some.code).toBe(1);
    expect(some.stderr).toMatch(/--allow-removal nope: this publish does not remove a flag "nope"/);
    expect(some.stderr).toMatch(
      /remove 4 flags that live version 2 has \(admin-tools, checkout, new-search, old-promo\)/,
    );
    const dry = await cli(["publish", wrong(), "--allow-removals", "--dry-run", "--json"], w.p.dir);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      changes: {
        added: ["other"],
        removed: ["admin-tools", "banner", "checkout", "new-search", "old-promo"],
      },
    });
    // Dropping only the flag named: published.
    const file = w.p.write(
      "no-promo.yaml",
      flagsYaml("Hello", extra()).replace(/ {2}old-promo:\n(?: {4}.*\n)+/, ""),
    );
    const named = await cli(["publish", file, "--allow-removal", "old-promo", "--json"], w.p.dir);
    expect(named.code, named.stderr).toBe(0);
    expect(named.json()).toMatchObject({ version: 3, changes: { removed: ["old-promo"] } });
  });
});

describe("attention", () => {
  it("calls out a permission flag turning on, a gated flag changing and a widened rollout, without blocking", async () => {
    const doc = flagsYaml("Hello", extra({ adminEnabled: true, searchOn: 60 })).replace(
      / {2}old-promo:\n(?: {4}.*\n)+/,
      "",
    );
    // checkout (gated) now serves off by default.
    const file = w.p.write(
      "risky.yaml",
      doc.replace(
        "    clientVisible: true\n    fallthrough: on\n",
        "    clientVisible: true\n    fallthrough: off\n",
      ),
    );
    const dry = await cli(["publish", file, "--dry-run", "--json"], w.p.dir);
    expect(dry.code, dry.stderr).toBe(0);
    const items = dry.json<{ attention: { kind: string; flag: string; message: string }[] }>().attention;
    expect(items.map((i) => [i.kind, i.flag])).toEqual([
      ["permission", "admin-tools"],
      ["rollout", "new-search"],
      ["gate", "checkout"],
    ]);
    expect(items.map((i) => i.message)).toEqual([
      'permission flag "admin-tools" turns on (enabled: false -> true)',
      'flag "new-search": the fallthrough serves "on" to 60% (was 10%), +50 points, more than the 25-point step (--max-step)',
      'flag "checkout" gates /checkout/* and changes (fallthrough)',
    ]);
    const wider = await cli(["publish", file, "--dry-run", "--max-step", "50", "--json"], w.p.dir);
    expect(wider.json<{ attention: { kind: string }[] }>().attention.map((i) => i.kind)).toEqual([
      "permission",
      "gate",
    ]);
    const r = await cli(["publish", file], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^attention:\n {2}permission flag "admin-tools" turns on/m);
    expect(r.stdout).toMatch(/published version 4 \(was 3\)/);
  });

  it("refuses a bad --max-step and a --reason without --allow-lint (usage, exit 2)", async () => {
    const file = w.p.write("x.yaml", flagsYaml("X"));
    expect((await cli(["publish", file, "--max-step", "200"], w.p.dir)).code).toBe(2);
    const r = await cli(["publish", file, "--reason", "because"], w.p.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--reason goes with --allow-lint RULE/);
  });
});
