/**
 * What `npm start` sets up and prints, end to end: prepareDevFiles in a fresh folder (keys, a publish
 * token and a server API key kept across runs, the CLI config pointing at the chosen port), then the
 * worker in workerd with exactly those .dev.vars, the demo flags published through the CLI, and every
 * "what to try" request sent to it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { devUrl, prepareDevFiles, readDotenv } from "../../scripts/lib/dev-setup";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { DEMO_FLAGS, tryRequests } from "../../scripts/lib/try-it";
import { cli, repoRoot } from "../publisher/helpers";

const DEMO = join(repoRoot, "examples", "demo.flags.yaml");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe("prepareDevFiles", () => {
  it("creates a server API key and a publish token once, and keeps them (and other lines) across runs", async () => {
    const root = mkdtempSync(join(tmpdir(), "edgeflags-dev-"));
    const first = await prepareDevFiles(root, devUrl(9001));
    expect(first).toMatchObject({ createdKey: true, createdServerApiKey: true });
    expect(first.serverApiKey).toMatch(/^[\w-]{32}$/);
    const vars = readDotenv(readFileSync(join(root, ".dev.vars"), "utf8"));
    expect(vars.get("SERVER_API_KEYS")).toBe(first.serverApiKey);
    expect(vars.get("PUBLISH_TOKEN")).toBe(first.publishToken);
    expect(JSON.parse(readFileSync(join(root, ".edgeflags", "config.json"), "utf8"))).toMatchObject({
      url: "http://127.0.0.1:9001",
      publishToken: first.publishToken,
    });

    writeFileSync(
      join(root, ".dev.vars"),
      `${readFileSync(join(root, ".dev.vars"), "utf8")}CORS_ORIGINS='*'\n`,
    );
    const again = await prepareDevFiles(root, devUrl(9002));
    expect(again).toMatchObject({
      createdKey: false,
      createdServerApiKey: false,
      serverApiKey: first.serverApiKey,
      publishToken: first.publishToken,
    });
    expect(readDotenv(readFileSync(join(root, ".dev.vars"), "utf8")).get("CORS_ORIGINS")).toBe("*");
    // The port can change between runs: the CLI follows it.
    expect(JSON.parse(readFileSync(join(root, ".edgeflags", "config.json"), "utf8")).url).toBe(
      "http://127.0.0.1:9002",
    );
  });

  it("keeps a developer's own SERVER_API_KEYS and prints the first of them", async () => {
    const root = mkdtempSync(join(tmpdir(), "edgeflags-dev-"));
    writeFileSync(join(root, ".dev.vars"), "SERVER_API_KEYS='mine-1, mine-2'\n");
    const setup = await prepareDevFiles(root, devUrl(9001));
    expect(setup).toMatchObject({ serverApiKey: "mine-1", createdServerApiKey: false });
    expect(readDotenv(readFileSync(join(root, ".dev.vars"), "utf8")).get("SERVER_API_KEYS")).toBe(
      "mine-1, mine-2",
    );
  });

  it("keeps keys a developer added to EDGEFLAGS_PUBLIC_KEYS (approvers for a local policy), the development key first", async () => {
    const root = mkdtempSync(join(tmpdir(), "edgeflags-dev-"));
    const first = await prepareDevFiles(root, devUrl(9001));
    const alice = {
      kty: "OKP",
      crv: "Ed25519",
      x: "fushn-XqknwysgdqE3M4vAufsBPc_i0veylJ_IKVbYo",
      kid: "alice",
    };
    const vars = readDotenv(readFileSync(join(root, ".dev.vars"), "utf8"));
    const dev = JSON.parse(vars.get("EDGEFLAGS_PUBLIC_KEYS") as string).keys[0];
    expect(dev.kid).toBe(first.kid);
    writeFileSync(
      join(root, ".dev.vars"),
      `EDGEFLAGS_PUBLIC_KEYS='${JSON.stringify({ keys: [alice, dev] })}'\nEDGEFLAGS_POLICY='{}'\n`,
    );
    await prepareDevFiles(root, devUrl(9001));
    const after = readDotenv(readFileSync(join(root, ".dev.vars"), "utf8"));
    expect(JSON.parse(after.get("EDGEFLAGS_PUBLIC_KEYS") as string).keys).toEqual([dev, alice]);
    expect(after.get("EDGEFLAGS_POLICY")).toBe("{}");
    // Garbage there is replaced by the development key alone.
    writeFileSync(join(root, ".dev.vars"), "EDGEFLAGS_PUBLIC_KEYS='not json'\n");
    await prepareDevFiles(root, devUrl(9001));
    const reset = readDotenv(readFileSync(join(root, ".dev.vars"), "utf8"));
    expect(JSON.parse(reset.get("EDGEFLAGS_PUBLIC_KEYS") as string).keys).toEqual([dev]);
  });
});

describe("the demo flags the examples name", () => {
  const demo = parse(readFileSync(DEMO, "utf8")) as {
    flags: Record<string, { clientVisible?: boolean; schedule?: unknown; geo?: unknown }>;
  };
  it("exist, with the visibility the examples assume", () => {
    expect(demo.flags[DEMO_FLAGS.killable]?.clientVisible).toBe(true);
    expect(demo.flags[DEMO_FLAGS.serverOnly]).toBeDefined();
    expect(demo.flags[DEMO_FLAGS.serverOnly]?.clientVisible).not.toBe(true);
    expect(demo.flags[DEMO_FLAGS.scheduled]).toMatchObject({ clientVisible: true });
    expect(demo.flags[DEMO_FLAGS.scheduled]?.schedule).toBeDefined();
  });
});

/** Berlin office hours as the demo's live-support-chat schedule has them. */
function berlinOfficeHours(at: Date): boolean {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Berlin",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const minutes = Number(get("hour")) * 60 + Number(get("minute"));
  const day = get("weekday");
  if (["Mon", "Tue", "Wed", "Thu", "Fri"].includes(day)) return minutes >= 9 * 60 && minutes < 17 * 60 + 30;
  if (day === "Sat") return minutes >= 10 * 60 && minutes < 14 * 60;
  return false;
}

describe("what npm start prints to try, against the worker with npm start's settings", () => {
  let worker: LocalWorker;
  let serverApiKey: string;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "edgeflags-dev-"));
    const port = await freePort();
    const setup = await prepareDevFiles(root, devUrl(port));
    serverApiKey = setup.serverApiKey;
    const bindings = Object.fromEntries(readDotenv(readFileSync(join(root, ".dev.vars"), "utf8")));
    // As npm start's cf.json: no country, so the CF-IP* headers decide geo (GEO_HEADER_FALLBACK).
    worker = await startLocalWorker({ bindings, port, cf: { colo: "LCL" } });
    const config = join(root, ".edgeflags", "config.json");
    const r = await cli(["publish", DEMO, "--config", config, "--json"], root);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await worker?.dispose();
  });

  const send = (path: string, init: RequestInit) => fetch(`${worker.url}${path}`, init);

  it("every request answers 200", async () => {
    for (const r of tryRequests(serverApiKey)) {
      const res = await send(r.path, { method: r.method, headers: r.headers, body: r.body });
      expect(res.status, `${r.label}: ${r.method} ${r.path}`).toBe(200);
    }
  });

  it("the server-only flag needs the printed key, and is on with it", async () => {
    const r = tryRequests(serverApiKey).find((x) => x.path.endsWith(DEMO_FLAGS.serverOnly));
    if (!r) throw new Error("no server-only example");
    const res = await send(r.path, { method: r.method, headers: r.headers, body: r.body });
    expect(await res.json()).toMatchObject({ key: DEMO_FLAGS.serverOnly, value: true });
    const { "X-API-Key": _, ...withoutKey } = r.headers ?? {};
    const denied = await send(r.path, { method: r.method, headers: withoutKey, body: r.body });
    expect(denied.status).toBe(404);
    expect(await denied.json()).toMatchObject({ errorCode: "FLAG_NOT_FOUND" });
  });

  it("live-support-chat: on from Germany only with both headers, and only in Berlin office hours", async () => {
    const flags = async (headers: Record<string, string>) =>
      (
        (await (await send("/v1/flags?targetingKey=user-1", { headers })).json()) as {
          flags: Record<string, unknown>;
        }
      ).flags;
    expect((await flags({}))[DEMO_FLAGS.scheduled]).toBe(false);
    expect((await flags({ "CF-IPCountry": "DE" }))[DEMO_FLAGS.scheduled]).toBe(false);
    const both = await flags({ "CF-IPCountry": "DE", "CF-IPContinent": "EU" });
    expect(both[DEMO_FLAGS.scheduled]).toBe(berlinOfficeHours(new Date()));
    expect(both[DEMO_FLAGS.killable]).toBe(true);
  });
});
