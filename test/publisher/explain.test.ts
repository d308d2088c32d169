/**
 * `edgeflags explain` against the worker in workerd, with the demo flags published by the CLI: a
 * flag's steps with ✓ / ✗ and the values read, DE against New York on the geo-blocked flag, every flag
 * briefly, --json, --at, and the errors with their exit codes. Request building is pinned by a table.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { explainBody, parsePairs } from "../../src/publisher/commands/explain";
import { cli, type Project, project, repoRoot } from "./helpers";

const ENV = "explain";
const TOKEN = "explain-publish-token";
const SERVER_KEY = "explain-server-key";
let worker: LocalWorker;
let p: Project;

beforeAll(async () => {
  p = await project({}, "explain-key");
  worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: ENV,
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
      PUBLISH_TOKEN: TOKEN,
      SERVER_API_KEYS: `other-key,${SERVER_KEY}`,
      REFRESH_INTERVAL_SECONDS: "1",
    },
    counts: false,
  });
  writeFileSync(
    join(p.dir, ".edgeflags", "config.json"),
    JSON.stringify({
      url: worker.url,
      environment: ENV,
      publishToken: TOKEN,
      serverApiKey: SERVER_KEY,
      privateKeyFile: "key.json",
      waitTimeoutSeconds: 10,
    }),
  );
  const demo = p.write(
    "demo.flags.yaml",
    readFileSync(join(repoRoot, "examples", "demo.flags.yaml"), "utf8"),
  );
  const published = await cli(["publish", demo], p.dir);
  expect(published.code, published.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("edgeflags explain", () => {
  it("prints a flag's steps with ✓ / ✗: on in DE, blocked in New York", async () => {
    const de = await cli(["explain", "crypto-payments", "--key", "qa-account-1", "--country", "DE"], p.dir);
    expect(de.code, de.stderr).toBe(0);
    expect(de.stdout).toContain("crypto-payments = true  on, DEFAULT (fallthrough)");
    expect(de.stdout).toContain("✓ prerequisite new-checkout = on, needs on");
    expect(de.stdout).toContain('✓ key "qa-account-1" is a target of on');
    expect(de.stdout).toContain("✓ geo DE: not blocked");

    const ny = await cli(["explain", "crypto-payments", "--key", "qa-account-1", "--region", "US-NY"], p.dir);
    expect(ny.code, ny.stderr).toBe(0);
    expect(ny.stdout).toContain("crypto-payments = false  off, TARGETING_MATCH (geo)");
    expect(ny.stdout).toContain("✗ geo US/NY: blocked by region US-NY -> off");
  });

  it("shows conditions with the values read, and a split's bucket against its ranges", async () => {
    const r = await cli(["explain", "new-checkout", "--key", "user-9", "--attr", "appVersion=1.0.0"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✗ rule beta-users: no match\n\s+✗ in segment beta \(member: no, no match\)/);
    expect(r.stdout).toMatch(/split by key "user-9", salt "new-checkout": bucket \d+ of 100 -> (on|off)/);
    expect(r.stdout).toMatch(/progressive step \d \(from 2026-07-\d\dT08:00:00Z\): on \[0, \d+\)/);
  });

  it("without FLAG, one line per flag; --json is the worker's answer", async () => {
    const all = await cli(["explain", "--key", "user-1", "--country", "US"], p.dir);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^FLAG +VALUE +RESULT +DECIDED BY$/m);
    expect(all.stdout).toMatch(/^new-checkout +true +on, TARGETING_MATCH \(beta-users\) +rule beta-users$/m);
    expect(all.stdout).toMatch(/^live-support-chat +false +off, .* +(schedule|geo US)$/m);

    const json = await cli(["explain", "demo-flag", "--json"], p.dir);
    expect(json.code).toBe(0);
    expect(json.json()).toMatchObject({
      ok: true,
      environment: ENV,
      version: 1,
      snapshot: "current",
      flag: { key: "demo-flag", result: { value: true, reason: "STATIC" } },
    });
  });

  it("--at explains the version live then", async () => {
    const r = await cli(["explain", "demo-flag", "--at", "1m", "--json"], p.dir);
    // Published seconds ago: a minute back, nothing was live yet.
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, status: 404, error: "no_version_at" });
    const now = await cli(["explain", "demo-flag", "--at", new Date(Date.now() + 1000).toISOString()], p.dir);
    expect(now.code, now.stderr).toBe(0);
  });

  it.each<[string, string[], Record<string, string>, number, RegExp]>([
    ["an unknown flag", ["explain", "nope"], {}, 1, /no flag named "nope"/],
    [
      "a wrong server key",
      ["explain", "demo-flag"],
      { EDGEFLAGS_SERVER_API_KEY: "wrong" },
      1,
      /refused the key/,
    ],
    ["a bad --at", ["explain", "--at", "soon"], {}, 2, /--since takes|duration/],
    ["a bad --attr", ["explain", "--attr", "plan"], {}, 2, /--attr takes NAME=VALUE/],
  ])("%s exits %i", async (_, argv, env, code, message) => {
    const r = await cli(argv, p.dir, env);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it("says where the server key goes when none is set", async () => {
    const bare = await project({ url: worker.url });
    const r = await cli(["explain", "demo-flag"], bare.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("EDGEFLAGS_SERVER_API_KEY");
    const withEnv = await cli(["explain", "demo-flag"], bare.dir, { EDGEFLAGS_SERVER_API_KEY: SERVER_KEY });
    expect(withEnv.code, withEnv.stderr).toBe(0);
  });
});

describe("the request the CLI sends", () => {
  const NOW = Date.parse("2026-11-27T12:00:00Z");
  it.each<[string, Parameters<typeof explainBody>, Record<string, unknown>]>([
    [
      "a flag, a key and a country",
      ["f", { key: "u", country: "DE" }, NOW],
      { flag: "f", context: { targetingKey: "u" }, geo: { country: "DE" } },
    ],
    ["no flag", [undefined, {}, NOW], { context: {} }],
    [
      "a region with its country",
      [undefined, { region: "US-NY" }, NOW],
      { context: {}, geo: { country: "US", regionCode: "NY" } },
    ],
    [
      "a region code alone",
      [undefined, { region: "NY", country: "US" }, NOW],
      { context: {}, geo: { country: "US", regionCode: "NY" } },
    ],
    [
      "attributes and claims, JSON values as such",
      [
        undefined,
        { attr: ["age=21", "plan=pro", 'zip="01234"', "beta=true"], identity: ["role=admin"] },
        NOW,
      ],
      { context: { age: 21, plan: "pro", zip: "01234", beta: true }, identity: { role: "admin" } },
    ],
    [
      "--at as a duration ago",
      [undefined, { at: "2h" }, NOW],
      { context: {}, at: "2026-11-27T10:00:00.000Z" },
    ],
    [
      "--at as an instant",
      [undefined, { at: "2026-11-01T08:00:00Z" }, NOW],
      { context: {}, at: "2026-11-01T08:00:00.000Z" },
    ],
  ])("%s", (_, args, body) => {
    expect(explainBody(...args)).toEqual(body);
  });

  it("keeps an attribute value with = in it", () => {
    expect(parsePairs(["q=a=b"], "--attr")).toEqual({ q: "a=b" });
  });
});
