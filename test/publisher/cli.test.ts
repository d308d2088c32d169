/**
 * The command line as a whole: --version, and a publish that waits on a slow worker - progress lines
 * on stderr, stdout still one JSON document with --json. The worker here is a small fake of the
 * intake and /healthz that goes live a while after the push.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, flagsYaml, type Project, project, repoRoot, spawnCli } from "./helpers";

const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

describe("--version", () => {
  it("prints the package version and exits 0 (-V too), in-process and as the real command", async () => {
    expect(await cli(["--version"], repoRoot)).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(await cli(["-V"], repoRoot)).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(await spawnCli(["--version"], repoRoot)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

/** How long after a push the fake worker's /healthz reports the new version. */
const LIVE_AFTER_MS = 2600;
let live: { version: number; at: number } | null = null;
let served = 0;
let stored: string | null = null;
/** Delay before the fake answers GET /v1/snapshot, ms. */
let readDelayMs = 0;
const worker = createServer(async (req, res) => {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method === "GET" && req.url === "/v1/snapshot") {
    await new Promise((r) => setTimeout(r, readDelayMs));
    if (stored === null)
      json(404, { error: "not_found", message: "nothing is published in this environment yet" });
    else {
      res.writeHead(200, { "content-type": "application/jose" });
      res.end(stored);
    }
  } else if (req.method === "PUT" && req.url === "/v1/snapshot") {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      stored = body;
      live = { version: served + 1, at: Date.now() + LIVE_AFTER_MS };
      json(201, { accepted: true, version: live.version, signal: "off" });
    });
  } else if (req.method === "GET" && req.url === "/healthz") {
    if (live && Date.now() >= live.at) served = live.version;
    json(served ? 200 : 503, {
      environment: "development",
      version: served || null,
      signal: { enabled: false },
    });
  } else {
    json(404, { error: "not_found", message: "no such resource" });
  }
});
let p: Project;

beforeAll(async () => {
  await new Promise<void>((r) => worker.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
  p = await project({ url, publishToken: "t", waitTimeoutSeconds: 20 });
});
afterAll(() => {
  worker.close();
});

describe("publish on a worker slow to serve the new version", () => {
  it("--json: stdout is one JSON document; stderr has one plain progress line, not one per poll", async () => {
    served = 0;
    live = null;
    stored = null;
    const file = p.write("flags.yaml", flagsYaml("Hello"));
    const r = await cli(["publish", file, "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, version: 1, confirmed: true });
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("waiting"));
    // Polls every 100 ms for ~2.6 s; a plain line only from 2 s on, then every 5 s: exactly one.
    expect(progress).toEqual(["waiting for the worker to serve version 1... 2 s (serving none yet)"]);
    expect(r.stderr).not.toContain("\r");
  }, 15_000);

  it("without --json: the report on stdout, the progress line on stderr", async () => {
    live = null;
    const file = p.write("flags.yaml", flagsYaml("Hallo"));
    const r = await cli(["publish", file], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^✓ published version 2 \(was 1\) to development: live/);
    expect(r.stdout).not.toContain("waiting");
    expect(r.stderr).toContain("waiting for the worker to serve version 2... 2 s (serving 1)\n");
  }, 15_000);
});

describe("a worker slow to answer a request", () => {
  it("gets a progress line naming the request and when the CLI gives up", async () => {
    readDelayMs = 2300;
    const r = await cli(["diff", p.write("flags.yaml", flagsYaml("Hallo")), "--json"], p.dir);
    readDelayMs = 0;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ ok: true });
    const url = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
    expect(r.stderr).toBe(`waiting for ${url} to answer GET /v1/snapshot... 2 s (gives up at 30 s)\n`);
  }, 15_000);
});
