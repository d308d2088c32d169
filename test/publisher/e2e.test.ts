/**
 * The publisher end to end against the worker in workerd on 127.0.0.1: publish, refusals (older
 * version, tampered, wrongly signed), kill, rollback, history and diff - in-process through `main`
 * and as the real `edgeflags` process.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import { generateKeys } from "../../src/publisher/keys";
import { CliError } from "../../src/publisher/output";
import { workerTarget } from "../../src/publisher/targets/worker";
import { kvKeys } from "../../src/snapshot/format";
import { cli, flagsYaml, type Project, spawnCli, workerProject } from "./helpers";

const ENV = "e2e";
const TOKEN = "e2e-publish-token";
let worker: LocalWorker;
let p: Project;

async function served(): Promise<{ version: number; flags: Record<string, unknown> }> {
  const res = await fetch(`${worker.url}/v1/flags?targetingKey=u1`);
  expect(res.status).toBe(200);
  return (await res.json()) as { version: number; flags: Record<string, unknown> };
}

beforeAll(async () => {
  ({ p, worker } = await workerProject(ENV, TOKEN, "e2e-key"));
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("publish -> served, against the worker intake", () => {
  it("publishes version 1 and the worker serves it; the JSON report has every step", async () => {
    const file = p.write("flags.yaml", flagsYaml("Hello"));
    const r = await cli(["publish", file, "--message", "first", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{
      version: number;
      confirmed: boolean;
      steps: { step: string }[];
      changes: { added: string[] };
    }>();
    expect(report).toMatchObject({
      ok: true,
      version: 1,
      previousVersion: null,
      confirmed: true,
      environment: ENV,
    });
    expect(report.changes.added).toEqual(["banner", "checkout"]);
    expect(report.steps.map((s) => s.step)).toEqual([
      "validate",
      "lint",
      "read live",
      "sign",
      "push",
      "live",
    ]);
    expect(await served()).toEqual({ version: 1, flags: { banner: "Hello", checkout: true } });
  });

  it("publishes a change as the next version, and the real edgeflags process does the same", async () => {
    const file = p.write("flags.yaml", flagsYaml("Hallo"));
    const r = await cli(["publish", file], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /published version 2 \(was 1\) to e2e: live, 1 changed \(banner: variants.shown Hello -> Hallo\)\n {2}~ banner\n {6}variants.shown: Hello -> Hallo\n/,
    );
    expect(r.stdout).toMatch(/validate .*lint .*read live .*sign .*push .*live .*; total /);
    expect(await served()).toMatchObject({ version: 2, flags: { banner: "Hallo" } });

    const file3 = p.write("flags3.yaml", flagsYaml("Bonjour"));
    const spawned = await spawnCli(["publish", file3, "--json", "--message", "from a process"], p.dir);
    expect(spawned.code, spawned.stderr).toBe(0);
    const report = spawned.json<{ version: number; steps: { step: string }[] }>();
    expect(report.version).toBe(3);
    // As a process, start-up (Node + tsx + modules) is the first step of the total.
    expect(report.steps[0]?.step).toBe("start-up");
    expect(await served()).toMatchObject({ version: 3, flags: { banner: "Bonjour" } });
  });

  it("builds on the newest version that verifies when `current` in KV is behind, and still refuses a stale push", async () => {
    // KV lagging behind the isolate: `current` goes back to version 1 while version 3 is in memory.
    const kv = await worker.mf.getKVNamespace("FLAGS");
    const v3 = (await kv.get(kvKeys.current(ENV), "text")) as string;
    await kv.put(kvKeys.current(ENV), (await kv.get(kvKeys.version(ENV, 1), "text")) as string);
    const d = await cli(["diff", join(p.dir, "flags3.yaml")], p.dir);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(
      /warning: current in KV is an older version \(ERR_SNAPSHOT_ROLLBACK\): using version 3, the newest that verifies/,
    );
    expect(d.stdout).toMatch(/against version 3 live on worker .*:\nno changes/);
    const target = workerTarget({ url: worker.url, token: TOKEN });
    const err = await target.push((await target.version(2)) as string).catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(
        /not newer than version 3 \[ERR_SNAPSHOT_ROLLBACK\] \(live version: 3\)/,
      ),
    });
    expect(await served()).toMatchObject({ version: 3, flags: { banner: "Bonjour" } });
    await kv.put(kvKeys.current(ENV), v3);
  });

  it("refuses an older version pushed directly (CliError exit 1)", async () => {
    const target = workerTarget({ url: worker.url, token: TOKEN });
    const v1 = await target.version(1);
    const err = await target.push(v1 as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exitCode: 1, message: expect.stringContaining("ERR_SNAPSHOT_ROLLBACK") });
  });

  it("refuses a tampered snapshot and one signed with an untrusted key; the old one keeps serving", async () => {
    const target = workerTarget({ url: worker.url, token: TOKEN });
    const [head, body, sig] = ((await target.live()).jws as string).split(".");
    const payload = JSON.parse(Buffer.from(body as string, "base64url").toString());
    payload.version = 99;
    payload.flags.flags.banner.fallthrough = "hidden";
    const forged = `${head}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${sig}`;
    const err = await target.push(forged).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, message: expect.stringContaining("ERR_SNAPSHOT_SIGNATURE") });

    const stranger = await generateKeys("stranger");
    const strangerFile = p.write("stranger.json", JSON.stringify(stranger.privateJwk));
    const file = p.write("flags4.yaml", flagsYaml("Forged"));
    const r = await cli(["publish", file, "--key", strangerFile], p.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no trusted key has kid stranger \[ERR_SNAPSHOT_KID_UNKNOWN\]/);
    expect(await served()).toMatchObject({ version: 3, flags: { banner: "Bonjour" } });
  });

  it("refuses a wrong publish token (exit 1) and an unreachable worker (exit 3)", async () => {
    const file = p.write("flags5.yaml", flagsYaml("Token"));
    const wrong = await cli(["publish", file], p.dir, { EDGEFLAGS_PUBLISH_TOKEN: "nope" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the publish token/);
    const down = await cli(["publish", file, "--url", "http://127.0.0.1:9"], p.dir);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach the worker http:\/\/127\.0\.0\.1:9/);
  });

  it("says when the URL answers, but not like an edgeflags worker (exit 3, no stack trace)", async () => {
    // A site's own pages, as when a gateway URL is given without its API prefix.
    const site = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><p>shop</p>");
    });
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    try {
      const file = p.write("flags6.yaml", flagsYaml("Site"));
      for (const argv of [["history"], ["publish", file], ["diff", file]]) {
        const r = await cli([...argv, "--url", url], p.dir);
        expect(r.code, argv.join(" ")).toBe(3);
        expect(r.stderr).toMatch(
          /did not answer like an edgeflags worker \(HTTP 200, text\/html\).*\/__edgeflags/,
        );
      }
    } finally {
      site.close();
    }
  });
});

describe("diff, kill, rollback and history", () => {
  it("diff shows each change against the live version; --exit-code makes changes exit 1", async () => {
    const same = await cli(["diff", join(p.dir, "flags3.yaml")], p.dir);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/against version 3 live on worker .*:\nno changes/);
    const file = p.write(
      "diff.yaml",
      flagsYaml("Ciao", "  extra:\n    owner: x\n    kind: ops\n    fallthrough: off\n"),
    );
    const changed = await cli(["diff", file], p.dir);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain("+ extra\n~ banner\n    variants.shown: Bonjour -> Ciao\n");
    expect((await cli(["diff", file, "--exit-code"], p.dir)).code).toBe(1);
  });

  it("kill disables one flag in the live snapshot; unknown flags are refused", async () => {
    const unknown = await cli(["kill", "nope", "--reason", "x"], p.dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no flag "nope" in live version 3; flags: banner, checkout/);
    const r = await cli(["kill", "checkout", "--reason", "payments down", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 4, flag: "checkout", confirmed: true });
    expect(await served()).toEqual({ version: 4, flags: { banner: "Bonjour", checkout: false } });
    const again = await cli(["kill", "checkout", "--reason", "again"], p.dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already disabled in live version 4/);
  });

  it("rollback republishes an earlier version's flags as a new version", async () => {
    const r = await cli(["rollback", "--to", "1"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rolled back to version 1 as version 5 \(was 4\)/);
    expect(await served()).toEqual({ version: 5, flags: { banner: "Hello", checkout: true } });
    expect((await cli(["rollback", "--to", "42"], p.dir)).stderr).toMatch(/version 42 was never published/);
    expect((await cli(["rollback", "--to", "x"], p.dir)).code).toBe(2);
  });

  it("history lists the publishes newest first with actor, message and changes", async () => {
    const r = await cli(["history", "--limit", "3", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const { records } = r.json<{ records: Record<string, unknown>[] }>();
    expect(records.map((x) => [x.version, x.actor, x.message])).toEqual([
      [5, "test-actor", "rollback to version 1"],
      [4, "test-actor", "kill checkout: payments down"],
      [3, "spawned-actor", "from a process"],
    ]);
    expect(records[1]?.changes).toMatchObject({
      changed: [
        { flag: "checkout", fields: ["enabled"], changes: [{ path: "enabled", before: true, after: false }] },
      ],
      text: "1 changed (checkout: enabled true -> false)",
    });
    // Each record checked against the signed snapshot of its version.
    expect(records.map((x) => x.verified)).toEqual([true, true, true]);
    expect(records[0]).toMatchObject({
      environment: ENV,
      kid: "e2e-key",
      sourceDigest: expect.stringMatching(/^sha256:/),
    });
    const human = await spawnCli(["history"], p.dir);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      /v5 .* test-actor {2}rollback to version 1\n {4}~ banner\n {8}variants.shown: Bonjour -> Hello\n {4}~ checkout\n {8}enabled: false -> true\n/,
    );
    expect(human.stdout).toMatch(/v1 .* test-actor {2}first\n {4}\+ banner\n {4}\+ checkout\n/);
  });
});
