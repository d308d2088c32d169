/**
 * The publisher while KV is poisoned by someone who can write it directly (bypassing the intake): a
 * garbage or forged `current`, a pre-written versioned key, forged or unreadable audit records. Kill,
 * publish and rollback carry on from the newest snapshot that verifies and say what they found;
 * history flags what it cannot check. Against the worker in workerd, and with the local (direct-KV)
 * target, which has to find the newest snapshot that verifies itself.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import { localStore } from "../../src/publisher/targets/local";
import { kvKeys } from "../../src/snapshot/format";
import { cli, flagsYaml, type Project, project, workerProject } from "./helpers";

const TOKEN = "poison-publish-token";

/** `jws` with its payload's version replaced, header and signature kept: a forgery. */
function forgeVersion(jws: string, version: number): string {
  const [head, body, sig] = jws.split(".") as [string, string, string];
  const payload = JSON.parse(Buffer.from(body, "base64url").toString());
  return `${head}.${Buffer.from(JSON.stringify({ ...payload, version })).toString("base64url")}.${sig}`;
}

/** A record that looks like the real ones, claiming what the KV writer wants. */
function fakeRecord(environment: string, version: number) {
  return JSON.stringify({
    version,
    environment,
    issuedAt: new Date().toISOString(),
    actor: "mallory",
    message: "nothing to see",
    sourceDigest: "sha256:fake",
    kid: "poison-key",
    changes: { added: [], removed: [], changed: [], text: "nothing" },
  });
}

/** `history --json` run in `dir`, which must succeed: its records and its stdout. */
async function history(dir: string): Promise<{ records: Record<string, unknown>[]; stdout: string }> {
  const h = await cli(["history", "--json"], dir);
  expect(h.code, h.stderr).toBe(0);
  return { records: h.json<{ records: Record<string, unknown>[] }>().records, stdout: h.stdout };
}

describe("against the worker", () => {
  const ENV = "poison";
  let worker: LocalWorker;
  let p: Project;
  let kv: KVNamespace;

  async function served(): Promise<{ version: number; flags: Record<string, unknown> }> {
    return (await (await fetch(`${worker.url}/v1/flags?targetingKey=u1`)).json()) as {
      version: number;
      flags: Record<string, unknown>;
    };
  }

  beforeAll(async () => {
    ({ p, worker } = await workerProject(ENV, TOKEN, "poison-key"));
    kv = (await worker.mf.getKVNamespace("FLAGS")) as unknown as KVNamespace;
    for (const text of ["Hello", "Hallo"]) {
      const r = await cli(["publish", p.write("flags.yaml", flagsYaml(text))], p.dir);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 60_000);

  afterAll(async () => {
    await worker?.dispose();
  });

  it("kill works while `current` is forged (claiming the largest version), and says what it found", async () => {
    const v2 = (await kv.get(kvKeys.current(ENV), "text")) as string;
    await kv.put(kvKeys.current(ENV), forgeVersion(v2, Number.MAX_SAFE_INTEGER));
    const r = await cli(["kill", "checkout", "--reason", "incident", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "current in KV does not verify (ERR_SNAPSHOT_SIGNATURE): using version 2, the newest that verifies",
    );
    expect(r.json()).toMatchObject({ version: 3, previousVersion: 2, confirmed: true });
    expect(await served()).toEqual({ version: 3, flags: { banner: "Hallo", checkout: false } });
  });

  it("publish works while `current` is garbage", async () => {
    await kv.put(kvKeys.current(ENV), "not a snapshot");
    const r = await cli(["publish", p.write("flags.yaml", flagsYaml("Hej"))], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "current in KV does not verify (ERR_SNAPSHOT_MALFORMED): using version 3, the newest that verifies",
    );
    expect(r.stdout).toMatch(/published version 4 \(was 3\)/);
    expect(await served()).toMatchObject({ version: 4, flags: { banner: "Hej" } });
  });

  it("rollback works while `current` is garbage and the next version's key was pre-written", async () => {
    await kv.put(kvKeys.current(ENV), "not a snapshot");
    await kv.put(kvKeys.version(ENV, 5), "pre-written");
    const r = await cli(["rollback", "--to", "1"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /v\/0000000005 held something that does not verify \(ERR_SNAPSHOT_MALFORMED\).*overwritten/,
    );
    expect(r.stdout).toMatch(/rolled back to version 1 as version 5 \(was 4\)/);
    expect(await served()).toEqual({ version: 5, flags: { banner: "Hello", checkout: true } });
  });

  it("history flags forged and unreadable audit records as UNVERIFIED, never as publishes", async () => {
    await kv.put(kvKeys.audit(ENV, 99), fakeRecord(ENV, 99));
    await kv.put(kvKeys.audit(ENV, 4), fakeRecord(ENV, 4));
    await kv.put(kvKeys.audit(ENV, 7), "{ not json");
    const { records, stdout } = await history(p.dir);
    expect(records.map((x) => [x.version, x.verified])).toEqual([
      [99, false],
      [7, false],
      [5, true],
      [4, true],
      [3, true],
      [2, true],
      [1, true],
    ]);
    expect(records[3]).toMatchObject({
      actor: "test-actor",
      reason: expect.stringMatching(/does not match/),
    });
    expect(stdout).not.toContain("mallory");

    const human = await cli(["history", "--limit", "4"], p.dir);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^v99 {2}UNVERIFIED {2}no snapshot of version 99 in KV/m);
    expect(human.stdout).toMatch(/^v7 {2}UNVERIFIED /m);
    expect(human.stdout).toMatch(
      /^v4 .* test-actor\n(?: {4}.*\n)*? {4}note: the audit record in KV does not match/m,
    );
    expect(human.stdout).not.toContain("mallory");
  });
});

describe("with the local target (direct KV: the publisher verifies)", () => {
  const ENV = "poison-local";

  it("kill finds the newest snapshot that verifies by itself; history flags forged records", async () => {
    const local = await project({ environment: ENV, target: "local", localPersist: "../kv" });
    writeFileSync(join(local.dir, "wrangler.toml"), '[[kv_namespaces]]\nbinding = "FLAGS"\nid = "FLAGS"\n');
    for (const text of ["Local", "Local 2"]) {
      const r = await cli(["publish", local.write("flags.yaml", flagsYaml(text))], local.dir);
      expect(r.code, r.stderr).toBe(0);
    }
    const store = localStore(join(local.dir, "kv"), "FLAGS");
    try {
      const v2 = (await store.get(kvKeys.current(ENV))) as string;
      await store.put(kvKeys.current(ENV), forgeVersion(v2, Number.MAX_SAFE_INTEGER));
      await store.put(kvKeys.audit(ENV, 42), fakeRecord(ENV, 42));
    } finally {
      await store.close();
    }
    const r = await cli(["kill", "checkout", "--reason", "incident", "--json"], local.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "current in KV does not verify (ERR_SNAPSHOT_SIGNATURE): using version 2, the newest that verifies",
    );
    expect(r.json()).toMatchObject({ version: 3, previousVersion: 2 });

    const { records, stdout } = await history(local.dir);
    expect(records.map((x) => [x.version, x.verified])).toEqual([
      [42, false],
      [3, true],
      [2, true],
      [1, true],
    ]);
    expect(stdout).not.toContain("mallory");
  }, 60_000);
});
