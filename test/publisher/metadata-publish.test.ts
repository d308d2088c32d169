/**
 * Metadata with teeth at publish: a flag not allowed in the target environment refuses the whole
 * document (named at its line), a running experiment whose salt or variant order changes is called
 * out as re-bucketing its users, and `lint.maxFlagsPerOwner` in the config file reaches lint. Against
 * the worker in workerd, plus the pure attention check.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlagDefinition } from "../../src/flags/types";
import { attention } from "../../src/publisher/guards/index";
import { type LiveProject, liveProject } from "./guard-helpers";
import { cli, flagsYaml, project } from "./helpers";

const experiment = (o: { salt?: string; split?: string; environments?: string } = {}) => `  colour:
    owner: growth
    kind: experiment
    expires: 2099-01-01
    dashboard: https://grafana.example.com/d/colour
${o.environments ? `    environments: ${o.environments}\n` : ""}    variants: { control: grey, blue: blue }
    offVariant: control
    fallthrough:
      split: ${o.split ?? "{ control: 50, blue: 50 }"}
      salt: ${o.salt ?? "colour-1"}
`;

let w: LiveProject;

beforeAll(async () => {
  w = await liveProject("meta");
  const r = await cli(["publish", w.p.write("flags.yaml", flagsYaml("Hi", experiment()))], w.p.dir);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await w?.worker.dispose();
});

describe("environments", () => {
  it("a flag not allowed in the target environment refuses the document, naming the flag at its line", async () => {
    const file = w.p.write(
      "envs.yaml",
      flagsYaml("Hi", experiment({ environments: "[staging, production]" })),
    );
    const r = await cli(["publish", file, "--dry-run"], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /envs\.yaml:22:19: error: flag "colour" is not allowed in environment "meta" \(its environments: staging, production\)/,
    );
    expect(r.stderr).toMatch(
      /1 flag \("colour"\) may not be published to environment "meta": .*nothing was published/,
    );
    const json = await cli(["publish", file, "--json"], w.p.dir);
    expect(json.json()).toMatchObject({
      ok: false,
      environment: "meta",
      notAllowed: [{ flag: "colour", environments: ["staging", "production"], line: 22 }],
    });
    expect((await w.live()).version).toBe(1);
  });

  it("propose refuses it the same way: nothing to approve that publish would refuse", async () => {
    const file = w.p.write(
      "envs.yaml",
      flagsYaml("Hi", experiment({ environments: "[staging, production]" })),
    );
    const r = await cli(["propose", file], w.p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/envs\.yaml:22:19: error: flag "colour" is not allowed in environment "meta"/);
    expect(r.stderr).toMatch(/may not be published to environment "meta": .*nothing was proposed/);
  });

  it("a flag that lists the environment publishes", async () => {
    const file = w.p.write(
      "envs.yaml",
      flagsYaml("Hello", experiment({ environments: "[meta, production]" })),
    );
    const r = await cli(["publish", file], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect((await w.live()).flags.flags.colour?.environments).toEqual(["meta", "production"]);
  });
});

describe("a running experiment", () => {
  it("changing its salt or variant order is called out as re-bucketing, without blocking", async () => {
    const file = w.p.write(
      "salt.yaml",
      flagsYaml(
        "Hello",
        experiment({ salt: "colour-2", split: "{ blue: 50, control: 50 }", environments: "[meta]" }),
      ),
    );
    const r = await cli(["publish", file, "--dry-run", "--json"], w.p.dir);
    expect(r.code, r.stderr).toBe(0);
    const items = r.json<{ attention: { kind: string; flag: string; message: string }[] }>().attention;
    expect(items).toEqual([
      {
        kind: "experiment",
        flag: "colour",
        message: expect.stringMatching(
          /^running experiment "colour": the fallthrough changes its split \(salt "colour-1" -> "colour-2"; variant order control, blue -> blue, control\): this re-buckets users/,
        ),
      },
    ]);
    const text = await cli(["publish", file, "--dry-run"], w.p.dir);
    expect(text.stdout).toMatch(/attention:\n {2}running experiment "colour"/);
  });
});

describe("the re-bucketing check", () => {
  const exp = (fallthrough: FlagDefinition["fallthrough"], more: Partial<FlagDefinition> = {}) => ({
    flags: { x: { kind: "experiment" as const, fallthrough, ...more } },
  });
  const run = (before: ReturnType<typeof exp>, after: ReturnType<typeof exp>) =>
    attention(before, after, { now: Date.parse("2026-11-27T00:00:00Z"), maxStep: 100 }).map((a) => a.message);
  const split = { split: { on: 10, off: 90 } };

  it("calls out a new salt (the default is the flag key), hashed attribute or order", () => {
    expect(run(exp(split), exp({ ...split, salt: "x" }))).toEqual([]);
    expect(run(exp(split), exp({ ...split, salt: "x2" }))[0]).toMatch(/salt "x" -> "x2"/);
    expect(run(exp(split), exp({ ...split, by: "identity.sub" }))[0]).toMatch(/hashes key -> identity\.sub/);
    expect(
      run(
        exp(split),
        exp({
          split: [
            { variant: "off", weight: 90 },
            { variant: "on", weight: 10 },
          ],
        }),
      )[0],
    ).toMatch(/variant order on, off -> off, on/);
  });

  it("not for new weights alone, a stopped experiment, another kind, or a variant gaining traffic", () => {
    expect(run(exp(split), exp({ split: { on: 20, off: 80 } }))).toEqual([]);
    expect(run(exp(split, { enabled: false }), exp({ ...split, salt: "y" }))).toEqual([]);
    const release = { flags: { x: { kind: "release" as const, fallthrough: split } } };
    expect(
      run(release, { flags: { x: { ...release.flags.x, fallthrough: { ...split, salt: "y" } } } }),
    ).toEqual([]);
    expect(run(exp({ split: { on: 0, off: 100 } }), exp({ split: { off: 90, on: 10 } }))).toEqual([]);
  });
});

describe("lint settings from .edgeflags/config.json", () => {
  it("lint.maxFlagsPerOwner makes lint report flags over an owner's budget; a bad value is a usage error", async () => {
    const p = await project({ lint: { maxFlagsPerOwner: 1 } });
    p.write("flags.yaml", flagsYaml("Hi").replace("owner: payments", "owner: web"));
    const r = await cli(["lint", "flags.yaml"], p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^flags\.yaml:12:12: error: owner "web" has 2 flags, over the budget of 1 \(lint\.maxFlagsPerOwner\).* \[owner-over-budget\]$/m,
    );
    writeFileSync(
      join(p.dir, ".edgeflags", "config.json"),
      JSON.stringify({ lint: { maxFlagsPerOwner: 0 } }),
    );
    const bad = await cli(["lint", "flags.yaml"], p.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/lint\.maxFlagsPerOwner must be a whole number >= 1, got 0/);
  });
});
