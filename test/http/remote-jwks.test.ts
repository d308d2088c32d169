/**
 * Identity with IDENTITY_JWKS_URL, end to end: the worker in workerd on 127.0.0.1 fetches its keys
 * from an identity provider played by a Node server on loopback. A provider's token turns into
 * trusted attributes, the keys are fetched once and not again per request, a redirect is not followed,
 * and a provider that cannot be reached makes a token unverifiable (500) without touching tokenless
 * requests.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import type { FlagsDocument } from "../../src/flags/types";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const ISSUER = "https://id.example.test";
const AUDIENCE = "shop";

const flags: FlagsDocument = {
  flags: {
    "admin-panel": {
      clientVisible: true,
      rules: [
        { id: "admins", when: [{ attribute: "identity.role", op: "in", values: ["admin"] }], serve: "on" },
      ],
      fallthrough: "off",
    },
  },
};

let provider: Server;
let providerUrl: string;
const seen: { path: string; accept?: string }[] = [];
let idpKey: { jwk: JWK; privateKey: CryptoKey };
let strangerKey: CryptoKey;
const workers: LocalWorker[] = [];

async function startWorker(jwksPath: string): Promise<LocalWorker> {
  const worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: "idp",
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
      PUBLISH_TOKEN: "idp-token",
      IDENTITY_ISSUER: ISSUER,
      IDENTITY_AUDIENCE: AUDIENCE,
      IDENTITY_JWKS_URL: `${providerUrl}${jwksPath}`,
    },
  });
  workers.push(worker);
  const jws = await signSnapshot(
    snapshotPayload(flags, { environment: "idp", version: 1 }),
    await importSigningKey(keys.primary.private),
  );
  await publishTo(`${worker.url}/v1/snapshot`, jws, "idp-token");
  return worker;
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  idpKey = {
    jwk: { ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256" },
    privateKey: pair.privateKey,
  };
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  provider = createServer((req: IncomingMessage, res) => {
    seen.push({ path: req.url ?? "", accept: req.headers.accept });
    if (req.url === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [idpKey.jwk] }));
    } else if (req.url === "/moved.json") {
      res.writeHead(302, { location: "/jwks.json" });
      res.end();
    } else {
      res.writeHead(503);
      res.end("down");
    }
  });
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.dispose()));
  await new Promise((resolve) => provider.close(resolve));
});

function token(privateKey: CryptoKey, claims: Record<string, unknown> = { sub: "alice", role: "admin" }) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
}

const flagsWith = (worker: LocalWorker, bearer?: string) =>
  fetch(`${worker.url}/v1/flags?targetingKey=k`, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
  });

describe("IDENTITY_JWKS_URL", () => {
  it("verifies a provider's token with the fetched keys, fetched once", async () => {
    const worker = await startWorker("/jwks.json");
    for (let i = 0; i < 3; i++) {
      const res = await flagsWith(worker, await token(idpKey.privateKey));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { flags: Record<string, unknown> }).flags["admin-panel"]).toBe(true);
    }
    const fetched = seen.filter((s) => s.path === "/jwks.json");
    expect(fetched).toHaveLength(1);
    expect(fetched[0]?.accept).toContain("application/jwk-set+json");
  });

  it("refuses a token signed by a key the provider does not publish, 401", async () => {
    const worker = await startWorker("/jwks.json");
    const res = await flagsWith(worker, await token(strangerKey));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "invalid_token", message: "the identity token is invalid" });
  });

  it.each([
    ["is down", "/down.json"],
    ["redirects (not followed)", "/moved.json"],
  ])("when the provider %s: a token cannot be verified (500), tokenless requests are served", async (_what, path) => {
    const worker = await startWorker(path);
    const before = seen.length;
    const res = await flagsWith(worker, await token(idpKey.privateKey));
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "internal" });
    expect(seen.slice(before).map((s) => s.path)).toEqual([path]);
    const tokenless = await flagsWith(worker);
    expect(tokenless.status).toBe(200);
    expect(((await tokenless.json()) as { flags: Record<string, unknown> }).flags["admin-panel"]).toBe(false);
  });
});
