/**
 * Killing several flags at once (by key and by tag) in one signed snapshot with the reason, and
 * `unkill` / `kill --undo` restoring exactly what they were - refused when a publish changed a flag
 * after its kill. Against the worker in workerd.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { canonicalJson } from "../../src/publisher/diff";
import { type LiveProject, liveProject } from "./guard-helpers";
import { cli, flagsYaml } from "./helpers";

const file = (promo = "    fallthrough: on\n") =>
  flagsYaml(
    "Hello",
    `  refunds:
    owner: payments
    kind: ops
    tags: [payments]
    enabled: true
    fallthrough: on
  wallet:
    owner: payments
    kind: ops
    tags: [payments, web]
    fallthrough: on
  promo:
    owner: web
    kind: ops
    tags: [marketing]
${promo}`,
  );

let w: LiveProject;
let v1: FlagsDocument;

beforeAll(async () => {
  w = await liveProject("kills");
  const r = await cli(["publish", w.p.write("flags.yaml", file())], w.p.dir);
  expect(r.code, r.stderr).toBe(0);
  v1 = (await w.live()).flags;
}, 60_000);

afterAll(async () => {
  await w?.worker.dispose();
});

describe("kill several flags", () => {
  it("kill a b: one signed snapshot, the reason and each flag's previous state in its audit block", async () => {
    const r = await cli(
      ["kill", "checkout", "refunds", "--reason", "payments errors, INC-123", "--json"],
      w.p.dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 2, flags: ["checkout", "refunds"], confirmed: true });
    const live = await w.live();
    expect(live.flags.flags.checkout?.enabled).toBe(false);
    expect(live.flags.flags.refunds?.enabled).toBe(false);
    expect(live.flags.flags.wallet?.enabled).toBeUndefined();
    expect(live.audit).toMatchObject({
      message: "kill checkout, refunds: payments errors, INC-123",
      killed: [
        { flag: "checkout", previousEnabled: null },
        { flag: "refunds", previousEnabled: true },
      ],
      changes: { changed: [{ flag: "checkout" }, { flag: "refunds" }] },
    });
  });

  it("unkill a b restores exactly the state before the kill", async () => {
    const r = await cli(["unkill", "checkout", "refunds"], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/unkilled checkout, refunds: version 3 \(was 2\)/);
    const live = await w.live();
    expect(live.audit?.message).toBe("unkill checkout, refunds: undo the kill in version 2");
    expect(canonicalJson(live.flags)).toBe(canonicalJson(v1));
    expect(Object.hasOwn(live.flags.flags.checkout ?? {}, "enabled")).toBe(false);
  });

  it("kill --tag kills every flag with the tag; kill --undo --tag puts them back", async () => {
    const r = await cli(["kill", "--tag", "payments", "--reason", "PSP outage", "--json"], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 4, flags: ["refunds", "wallet"] });
    expect((await w.live()).audit?.message).toBe("kill refunds, wallet (tag payments): PSP outage");
    const undo = await cli(["kill", "--undo", "--tag", "payments", "--reason", "PSP back"], w.p.dir);
    expect(undo.code, undo.stderr).toBe(0);
    const live = await w.live();
    expect(live.version).toBe(5);
    expect(live.audit?.message).toBe("unkill refunds, wallet: undo the kill in version 4; PSP back");
    expect(canonicalJson(live.flags)).toBe(canonicalJson(v1));
  });

  it("refuses unknown flags and tags, all at once, and publishes nothing", async () => {
    const r = await cli(["kill", "checkout", "nope", "nada", "--tag", "ghost", "--reason", "x"], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /no flags "nope", "nada" in live version 5; no flag in live version 5 has tag "ghost"; flags: banner, checkout, promo, refunds, wallet/,
    );
    expect((await w.live()).version).toBe(5);
    expect((await cli(["kill", "--reason", "x"], w.p.dir)).code).toBe(2);
    expect((await cli(["kill", "promo"], w.p.dir)).code).toBe(2);
  });

  it("unkill refuses a flag a publish changed after its kill, and one no kill disabled", async () => {
    expect((await cli(["kill", "promo", "--reason", "bad copy"], w.p.dir)).code).toBe(0);
    // The flags file now says disabled too, with another description: a change after the kill.
    const edited = file("    description: fixed copy\n    enabled: false\n    fallthrough: on\n");
    expect((await cli(["publish", w.p.write("flags.yaml", edited)], w.p.dir)).code).toBe(0);
    const r = await cli(["unkill", "promo"], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"promo" was last changed by version 7 \(test-actor: "no message"\), which is not a kill: unkill only undoes a kill nothing has changed since/,
    );
    expect((await w.live()).version).toBe(7);
    const enabled = await cli(["unkill", "banner"], w.p.dir);
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toMatch(/flag banner is not disabled in live version 7: nothing to undo/);
  });
});
