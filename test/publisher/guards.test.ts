/**
 * Guards end to end, in real workerd on 127.0.0.1: a gateway in front of an origin (a Node server)
 * that fails only for the new variant; the guard trips, the worker serves the off variant, a webhook
 * receiver gets exactly one well-formed message with the shared secret (its first attempt refused and
 * retried from the aggregator's alarm), `edgeflags status` and `history` show the trip, and
 * `edgeflags guard reset` re-arms it.
 */

import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { cli, type Project, project } from "./helpers";

const ENV = "guards-e2e";
const TOKEN = "guards-token";
const SECRET = "hook-secret";
let worker: LocalWorker;
let origin: Server;
let hook: Server;
let p: Project;
const received: { headers: IncomingHttpHeaders; body: string; status: number }[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

const FLAGS = `flags:
  new-checkout:
    owner: payments
    kind: ops
    runbook: https://runbooks.example.com/checkout
    clientVisible: true
    variants: { classic: classic, new: new, closed: closed }
    offVariant: classic
    fallthrough: { split: { classic: 50, new: 50 } }
    guard:
      metric: origin-5xx
      relative: { ratio: 2, margin: 0.01 }
      minSamples: 20
      window: 10m
gates:
  - id: checkout
    pattern: /checkout/*
    flag: new-checkout
    allow: [classic, new]
    deny: { status: 403 }
`;

async function until<T>(what: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // The origin: 500 for visitors the gateway forwards with the new checkout.
  origin = createServer((req, res) => {
    const flags = JSON.parse(String(req.headers["x-edgeflags-flags"] ?? "{}")) as {
      flags?: Record<string, unknown>;
    };
    res.statusCode = flags.flags?.["new-checkout"] === "new" ? 500 : 200;
    res.end("origin");
  });
  // The webhook receiver: refuses the first delivery, takes the rest.
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const status = received.length === 0 ? 503 : 200;
      received.push({ headers: req.headers, body, status });
      res.statusCode = status;
      res.end();
    });
  });
  const [originUrl, hookUrl] = await Promise.all([listen(origin), listen(hook)]);
  p = await project({}, "guards-key");
  worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: ENV,
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
      PUBLISH_TOKEN: TOKEN,
      SIGNAL_INTERVAL_SECONDS: "1",
      SIGNAL_LOCATION: "AMS",
      GATEWAY: "true",
      ORIGIN_URL: originUrl,
      GUARD_WEBHOOK_URL: `${hookUrl}/hooks/edgeflags`,
      GUARD_WEBHOOK_SECRET: SECRET,
    },
  });
  writeFileSync(
    join(p.dir, ".edgeflags", "config.json"),
    JSON.stringify({
      url: `${worker.url}/__edgeflags`,
      environment: ENV,
      publishToken: TOKEN,
      privateKeyFile: "key.json",
      waitTimeoutSeconds: 10,
    }),
  );
  const published = await cli(["publish", p.write("flags.yaml", FLAGS)], p.dir);
  expect(published.code, published.stderr + published.stdout).toBe(0);
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  origin?.close();
  hook?.close();
});

describe("a guard tripped by the origin", () => {
  it("serves the off variant, notifies the webhook once, and shows in status and history", async () => {
    for (let i = 0; i < 80; i++) {
      const res = await fetch(`${worker.url}/checkout/cart`, {
        headers: { "x-targeting-key": `visitor-${i}` },
      });
      await res.arrayBuffer();
    }
    const status = await cli(["status", "--json"], p.dir);
    expect(status.code, status.stderr).toBe(0);
    const guards = status.json<{ guards: { trips: { flag: string; variant: string }[] } }>().guards;
    expect(guards.trips).toMatchObject([{ flag: "new-checkout", variant: "new" }]);

    // Every visitor is now served the off variant, reason DISABLED (the guard).
    await until(async () => {
      const res = await fetch(`${worker.url}/__edgeflags/v1/flags/new-checkout?targetingKey=visitor-1`);
      const r = (await res.json()) as { variant: string; reason: string; ruleId?: string };
      return r.ruleId === "guard" ? r : undefined;
    }, 5000);
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${worker.url}/__edgeflags/v1/flags/new-checkout?targetingKey=visitor-${i}`);
      expect(await res.json()).toMatchObject({
        variant: "classic",
        value: "classic",
        reason: "DISABLED",
        ruleId: "guard",
      });
    }

    // The webhook: refused once, retried with backoff, delivered once.
    await until(async () => (received.some((r) => r.status === 200) ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 4000));
    expect(received.map((r) => r.status)).toEqual([503, 200]);
    const delivered = received[1]!;
    expect(delivered.headers["x-edgeflags-webhook-secret"]).toBe(SECRET);
    expect(delivered.headers["content-type"]).toMatch(/^application\/json/);
    const body = JSON.parse(delivered.body) as { text: string; edgeflags: Record<string, unknown> };
    expect(body.text).toContain("new-checkout");
    expect(body.text).toContain("off variant");
    expect(body.edgeflags).toMatchObject({
      event: "guard_tripped",
      environment: ENV,
      version: 1,
      trip: { flag: "new-checkout", variant: "new", metric: "origin-5xx", value: 1, control: 0 },
    });
    expect(received[0]!.body).toBe(delivered.body);

    const text = await cli(["status"], p.dir);
    expect(text.stdout).toMatch(/TRIPPED new-checkout: variant new origin-5xx 100 % over \d+ samples/);
    const history = await cli(["history"], p.dir);
    expect(history.stdout).toMatch(/guard trips:\n\s+v1\s+TRIPPED new-checkout/);
    // `stats FLAG` shows the guard next to the counts, in text and in --json.
    const stats = await cli(["stats", "new-checkout"], p.dir);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/TRIPPED new-checkout: variant new origin-5xx 100 % over \d+ samples/);
    // The console's guard column and flag page show the aggregator's verdict.
    const login = await fetch(`${worker.url}/__edgeflags/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: "manual",
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const list = await (await fetch(`${worker.url}/__edgeflags/console/`, { headers: { cookie } })).text();
    expect(list).toContain('<td data-label="Guard"><span class="badge bad">tripped</span></td>');
    const flagPage = await (
      await fetch(`${worker.url}/__edgeflags/console/flags/new-checkout`, { headers: { cookie } })
    ).text();
    expect(flagPage).toMatch(/<dt>Guard<\/dt><dd>tripped/);
    const statsJson = await cli(["stats", "new-checkout", "--json"], p.dir);
    expect(
      statsJson.json<{ guards: { trips: { flag: string }[] } }>().guards.trips.map((t) => t.flag),
    ).toEqual(["new-checkout"]);
  }, 60_000);

  it("re-arms with a signed guard reset", async () => {
    const reset = await cli(["guard", "reset", "new-checkout"], p.dir);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain("re-armed for version 1");
    const status = await cli(["status", "--json"], p.dir);
    expect(status.json<{ guards: { trips: unknown[] } }>().guards.trips).toEqual([]);
    const res = await fetch(`${worker.url}/__edgeflags/v1/flags/new-checkout?targetingKey=visitor-1`);
    expect(((await res.json()) as { reason: string }).reason).toBe("SPLIT");
    const again = await cli(["guard", "reset", "banner"], p.dir);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('no flag "banner"');
  }, 30_000);
});
