/**
 * The kv-api target against a loopback stand-in of the Cloudflare API routes it calls (values
 * get/put, keys list): the exact requests the official client sends, and the client-side checks
 * that replace the worker's (signature, strictly newer version) before anything is written.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateKeys } from "../../src/publisher/keys";
import { buildSnapshot } from "../../src/publisher/snapshot";
import { kvApiStore } from "../../src/publisher/targets/kv-api";
import { kvTarget } from "../../src/publisher/targets/kv-store";
import { kvKeys } from "../../src/snapshot/format";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";
import { cli, flagsYaml, type Project, project } from "./helpers";

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: string | undefined;
  contentType: string | undefined;
  value?: string;
}

const ACCOUNT = "acc0123456789";
const NAMESPACE = "ns0123456789";
const TOKEN = "cf-test-token";
const ENV = "kvtest";
const BASE = `/client/v4/accounts/${ACCOUNT}/storage/kv/namespaces/${NAMESPACE}`;

const store = new Map<string, string>();
const requests: Recorded[] = [];
let server: Server;
let baseURL: string;
let refuseAuth = false;
let p: Project;

function reply(res: import("node:http").ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The routes the target uses, answering the way the API documents (envelope, 404 code 10009). */
async function handle(req: IncomingMessage, res: import("node:http").ServerResponse) {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const rec: Recorded = {
    method: req.method ?? "",
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    auth: req.headers.authorization,
    contentType: req.headers["content-type"]?.split(";")[0],
  };
  requests.push(rec);
  if (refuseAuth)
    return reply(res, 403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
  if (!url.pathname.startsWith(`${BASE}/`))
    return reply(res, 404, { success: false, errors: [{ code: 7003, message: "no route" }] });
  const rest = url.pathname.slice(BASE.length + 1);
  if (rest.startsWith("values/")) {
    const key = decodeURIComponent(rest.slice("values/".length));
    if (req.method === "GET") {
      const value = store.get(key);
      if (value === undefined)
        return reply(res, 404, {
          success: false,
          errors: [{ code: 10009, message: "get: 'key not found'" }],
        });
      return res.writeHead(200, { "content-type": "application/octet-stream" }).end(value);
    }
    if (req.method === "PUT") {
      const form = await new Request("http://x", {
        method: "PUT",
        headers: { "content-type": req.headers["content-type"] ?? "" },
        body: await bodyOf(req),
      }).formData();
      const value = form.get("value");
      rec.value = typeof value === "string" ? value : await (value as unknown as Blob).text();
      store.set(key, rec.value);
      return reply(res, 200, { success: true, errors: [], messages: [], result: {} });
    }
  }
  if (rest === "keys" && req.method === "GET") {
    // Two keys a page, so the client has to follow the cursor.
    const prefix = url.searchParams.get("prefix") ?? "";
    const all = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = Number(url.searchParams.get("cursor") ?? 0);
    const page = all.slice(start, start + 2);
    const cursor = start + 2 < all.length ? String(start + 2) : "";
    return reply(res, 200, {
      success: true,
      errors: [],
      messages: [],
      result: page.map((name) => ({ name })),
      result_info: { count: page.length, cursor },
    });
  }
  return reply(res, 405, { success: false, errors: [{ code: 10000, message: "method not allowed" }] });
}

const apiEnv = () => ({
  CLOUDFLARE_API_TOKEN: TOKEN,
  CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
  EDGEFLAGS_KV_NAMESPACE_ID: NAMESPACE,
  CLOUDFLARE_API_BASE_URL: baseURL,
});
const enc = (key: string) => `${BASE}/values/${encodeURIComponent(key)}`;
const summary = (r: Recorded) => `${r.method} ${r.path}`;

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((err) =>
      reply(res, 500, { success: false, errors: [{ code: 1, message: String(err) }] }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
  p = await project({ environment: ENV, target: "kv-api" }, "kv-key");
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  requests.length = 0;
  refuseAuth = false;
});

describe("kv-api target", () => {
  it("publish reads current, then writes the version, its audit record and current, with the token", async () => {
    const file = p.write("flags.yaml", flagsYaml("Hello"));
    const r = await cli(["publish", file, "--message", "via api", "--json"], p.dir, apiEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 1, confirmed: false });
    expect(r.stderr).toMatch(/no worker URL configured/);

    expect(requests.every((q) => q.auth === `Bearer ${TOKEN}`)).toBe(true);
    const current = enc(kvKeys.current(ENV));
    // Read live (for the version; nothing there, so the versioned keys are listed for one that
    // verifies), again inside push (the monotonic check), check the version was never published
    // (history is never overwritten), then 3 writes.
    expect(requests.slice(0, 5).map(summary)).toEqual([
      `GET ${current}`,
      `GET ${BASE}/keys`,
      `GET ${current}`,
      `GET ${BASE}/keys`,
      `GET ${enc(kvKeys.version(ENV, 1))}`,
    ]);
    const writes = requests.slice(5);
    expect(writes.slice(0, 2).map(summary).sort()).toEqual(
      [`PUT ${enc(kvKeys.audit(ENV, 1))}`, `PUT ${enc(kvKeys.version(ENV, 1))}`].sort(),
    );
    expect(summary(writes[2] as Recorded)).toBe(`PUT ${current}`);
    expect(writes).toHaveLength(3);
    for (const w of writes) expect(w.contentType).toBe("multipart/form-data");

    const jws = writes[2]?.value as string;
    expect(writes.find((w) => w.path === enc(kvKeys.version(ENV, 1)))?.value).toBe(jws);
    const ring = await loadKeyRing(p.keys.publicJwks);
    const verified = await verifySnapshot(jws, { keys: ring, environment: ENV, now: Date.now() });
    expect(verified.payload.audit).toMatchObject({ actor: "test-actor", message: "via api" });
    const audit = JSON.parse(writes.find((w) => w.path === enc(kvKeys.audit(ENV, 1)))?.value as string);
    expect(audit).toMatchObject({
      version: 1,
      environment: ENV,
      actor: "test-actor",
      message: "via api",
      kid: "kv-key",
    });
  });

  it("history lists audit records newest first, following the list cursor", async () => {
    for (const text of ["Two", "Three"]) {
      const r = await cli(["publish", p.write("flags.yaml", flagsYaml(text))], p.dir, apiEnv());
      expect(r.code, r.stderr).toBe(0);
    }
    requests.length = 0;
    const r = await cli(["history", "--limit", "2", "--json"], p.dir, apiEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ records: { version: number }[] }>().records.map((x) => x.version)).toEqual([3, 2]);
    // Audit records and snapshots are both listed (each record is checked against its snapshot).
    const lists = requests.filter((q) => q.path === `${BASE}/keys`).map((q) => q.query);
    for (const prefix of [`audit/${ENV}/`, `snapshot/${ENV}/v/`]) {
      expect(lists.filter((q) => q.prefix === prefix)).toEqual([
        { prefix, limit: "1000" },
        { prefix, limit: "1000", cursor: "2" },
      ]);
    }
  });

  it("rollback and kill read from and write to the API", async () => {
    const back = await cli(["rollback", "--to", "1"], p.dir, apiEnv());
    expect(back.code, back.stderr).toBe(0);
    expect(requests.map(summary)).toContain(`GET ${enc(kvKeys.version(ENV, 1))}`);
    const kill = await cli(["kill", "checkout", "--reason", "api test", "--json"], p.dir, apiEnv());
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.json()).toMatchObject({ version: 5 });
    const ring = await loadKeyRing(p.keys.publicJwks);
    const live = await verifySnapshot(store.get(kvKeys.current(ENV)) as string, {
      keys: ring,
      environment: ENV,
      now: Date.now(),
    });
    expect(live.payload.flags.flags.checkout?.enabled).toBe(false);
    expect(live.payload.flags.flags.banner?.variants).toEqual({ shown: "Hello", hidden: "" });
  });

  it("refuses client-side, writing nothing: an older version, and a key the publisher does not trust", async () => {
    const key = await importSigningKey(p.keys.privateJwk);
    const ring = await loadKeyRing(p.keys.publicJwks);
    const target = kvTarget(
      kvApiStore({ apiToken: TOKEN, accountId: ACCOUNT, namespaceId: NAMESPACE, baseURL }),
      {
        where: "test",
        environment: ENV,
        keys: ring,
      },
    );
    const flags = { flags: { a: { fallthrough: "on" } } };
    const audit = { actor: "x", changes: { added: [], removed: [], changed: [], text: "" } };
    const old = await buildSnapshot({
      flags,
      environment: ENV,
      version: 2,
      sourceDigest: "sha256:x",
      audit,
      key: { jwk: p.keys.privateJwk, signer: key },
      now: Date.now(),
    });
    requests.length = 0;
    await expect(target.push(old.jws)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/not newer than version 5 \[ERR_SNAPSHOT_ROLLBACK\]/),
    });
    const stranger = await generateKeys("stranger");
    const forged = await buildSnapshot({
      flags,
      environment: ENV,
      version: 9,
      sourceDigest: "sha256:x",
      audit,
      key: { jwk: stranger.privateJwk, signer: await importSigningKey(stranger.privateJwk) },
      now: Date.now(),
    });
    await expect(target.push(forged.jws)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("ERR_SNAPSHOT_KID_UNKNOWN"),
    });
    expect(requests.filter((q) => q.method !== "GET")).toEqual([]);
  });

  it("maps refusals and missing settings to exit codes", async () => {
    refuseAuth = true;
    const denied = await cli(["history"], p.dir, apiEnv());
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/the Cloudflare API refused the token \(403\)/);
    refuseAuth = false;
    const unset = await cli(["history"], p.dir, { ...apiEnv(), CLOUDFLARE_ACCOUNT_ID: "" });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/the kv-api target needs CLOUDFLARE_ACCOUNT_ID/);
  });
});
