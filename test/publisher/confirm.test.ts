/**
 * Proof of live everywhere, in real workerd: three simulated locations (isolates sharing KV and the
 * beacon, each with its own SIGNAL_LOCATION) under steady traffic. `--confirm all` confirms every
 * active location with its time from the announcement, reports a frozen location (no traffic, so no
 * check reaches the beacon) as a straggler and exits 4; with no traffic at all, the location that took
 * the publish still confirms (it reports what it now serves itself); the table drops locations silent for longer
 * than the window; traffic makes no beacon call per request; GET /v1/snapshot/locations answers only
 * the publish token, with the documented error bodies; `edgeflags status` shows versions per location.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalIsolates,
  type LocalWorker,
  startLocalIsolates,
  startLocalWorker,
} from "../../scripts/lib/local-worker";
import type { Confirmation } from "../../src/publisher/confirm";
import type { LocationEntry, LocationsView } from "../../src/signal/types";
import { cli, flagsYaml, type Project, project } from "./helpers";

const ENV = "confirm-e2e";
const TOKEN = "confirm-token";
const NAMES = ["AMS", "SIN", "GRU"] as const;
let isolates: LocalIsolates;
let kvOnly: LocalWorker;
let p: Project;

/** Requests to the named locations every 50 ms until stopped: what keeps a location active. */
function traffic(names: readonly string[]): { stop(): Promise<void>; requests(): number } {
  let running = true;
  let count = 0;
  const loops = names.map(async (name) => {
    while (running) {
      await fetch(`${isolates.urls[name]}/v1/flags`)
        .then((r) => r.arrayBuffer())
        .catch(() => {});
      count++;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    requests: () => count,
  };
}

async function locations(activeWithin = "10m", token = TOKEN, url = isolates.urls.AMS): Promise<Response> {
  return fetch(`${url}/v1/snapshot/locations?activeWithin=${activeWithin}`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

async function table(activeWithin = "10m"): Promise<LocationsView> {
  const res = await locations(activeWithin);
  expect(res.status).toBe(200);
  return (await res.json()) as LocationsView;
}

async function until(what: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  p = await project({}, "confirm-key");
  const bindings = (name: string) => ({
    EDGEFLAGS_ENV: ENV,
    EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
    PUBLISH_TOKEN: TOKEN,
    SIGNAL_INTERVAL_SECONDS: "1",
    SIGNAL_LOCATION: name,
  });
  [isolates, kvOnly] = await Promise.all([
    startLocalIsolates(NAMES, bindings),
    startLocalWorker({ bindings: bindings("KVO"), beacon: false }),
  ]);
  writeFileSync(
    join(p.dir, ".edgeflags", "config.json"),
    JSON.stringify({
      url: isolates.urls.AMS,
      environment: ENV,
      publishToken: TOKEN,
      privateKeyFile: "key.json",
      waitTimeoutSeconds: 10,
    }),
  );
  const first = await cli(["publish", p.write("v1.yaml", flagsYaml("one"))], p.dir);
  expect(first.code, first.stderr).toBe(0);
  // Every location serves the first version and is in the table.
  const t = traffic(NAMES);
  try {
    await until(async () => {
      const view = await table();
      return view.locations.length === 3 && view.locations.every((l) => l.version === view.version);
    }, 15_000);
  } finally {
    await t.stop();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([isolates?.dispose(), kvOnly?.dispose()]);
});

describe("--confirm all", () => {
  it("confirms every active location, each with its time from the announcement", async () => {
    const t = traffic(NAMES);
    try {
      const r = await cli(["publish", p.write("v2.yaml", flagsYaml("two")), "--confirm", "all"], p.dir);
      expect(r.code, r.stderr).toBe(0);
      for (const name of NAMES) {
        expect(r.stdout).toMatch(
          new RegExp(`✓ ${name} serves version 2 (\\d+ ms|\\d+\\.\\d+ s) after the announcement`),
        );
      }
      expect(r.stdout).toMatch(/confirmed in all 3 active locations/);

      const json = await cli(
        ["rollback", "--to", "1", "--confirm", "all", "--active-within", "5m", "--json"],
        p.dir,
      );
      expect(json.code, json.stderr).toBe(0);
      const body = json.json() as { ok: boolean; confirmation: Confirmation };
      expect(body.ok).toBe(true);
      expect(body.confirmation).toMatchObject({
        ok: true,
        version: 3,
        activeWithinSeconds: 300,
        stragglers: [],
      });
      expect(body.confirmation.locations.map((l: { location: string }) => l.location).sort()).toEqual([
        "AMS",
        "GRU",
        "SIN",
      ]);
      for (const l of body.confirmation.locations) {
        expect(l).toMatchObject({ confirmed: true, version: 3 });
        expect(typeof l.lagMs).toBe("number");
        // Signal interval 1 s: within 1.5 intervals plus a request step and scheduling slack.
        expect(l.lagMs).toBeLessThan(3000);
      }
    } finally {
      await t.stop();
    }
  }, 60_000);

  it("reports a frozen location as a straggler and exits 4", async () => {
    // GRU gets no requests: none of its checks run, so it keeps serving the old version.
    const t = traffic(["AMS", "SIN"]);
    try {
      const r = await cli(
        ["kill", "banner", "--reason", "incident", "--confirm", "all", "--confirm-timeout", "4", "--json"],
        p.dir,
      );
      expect(r.code, r.stderr).toBe(4);
      const body = r.json() as { ok: boolean; confirmation: Confirmation };
      expect(body.ok).toBe(false);
      expect(body.confirmation).toMatchObject({ ok: false, version: 4, stragglers: ["GRU"] });
      const gru = body.confirmation.locations.find((l: { location: string }) => l.location === "GRU");
      expect(gru).toMatchObject({ confirmed: false, version: 3, lagMs: null });
      expect(body.confirmation.locations.filter((l: { confirmed: boolean }) => l.confirmed)).toHaveLength(2);

      const human = await cli(
        ["publish", p.write("v5.yaml", flagsYaml("five")), "--confirm", "all", "--confirm-timeout", "3"],
        p.dir,
      );
      expect(human.code, human.stderr).toBe(4);
      expect(human.stdout).toMatch(/✓ AMS serves version 5/);
      expect(human.stdout).toMatch(/not confirmed in 1 of 3 active locations/);
      expect(human.stdout).toMatch(/GRU: still on version 3, last heard/);
    } finally {
      await t.stop();
    }
  }, 60_000);
});

describe("--confirm all without traffic", () => {
  it("confirms the location that took the publish: it reports what it now serves itself", async () => {
    // No requests anywhere: only the publishing isolate (AMS) can know it serves the new version.
    const r = await cli(
      [
        "publish",
        p.write("v6.yaml", flagsYaml("six")),
        "--confirm",
        "all",
        "--confirm-timeout",
        "3",
        "--json",
      ],
      p.dir,
    );
    expect(r.code, r.stderr).toBe(4);
    const { confirmation } = r.json() as { confirmation: Confirmation };
    const ams = confirmation.locations.find((l) => l.location === "AMS");
    expect(ams).toMatchObject({ confirmed: true, version: confirmation.version });
    expect(confirmation.stragglers.sort()).toEqual(["GRU", "SIN"]);
  }, 30_000);
});

describe("the location table", () => {
  it("drops a location silent for longer than the window", async () => {
    const t = traffic(["AMS"]);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const recent = await table("2s");
      expect(recent.locations.map((l) => l.location)).toEqual(["AMS"]);
      const wide = await table("10m");
      expect(wide.locations.map((l) => l.location).sort()).toEqual(["AMS", "GRU", "SIN"]);
    } finally {
      await t.stop();
    }
  }, 30_000);

  it("costs no beacon call per request", async () => {
    const before = (await table()).calls;
    const started = Date.now();
    const t = traffic(NAMES);
    await new Promise((r) => setTimeout(r, 3000));
    await t.stop();
    const seconds = (Date.now() - started) / 1000;
    const after = (await table()).calls;
    const beaconCalls = after.read - before.read + (after.report - before.report);
    expect(t.requests()).toBeGreaterThan(60);
    // At most one check per isolate per 0.75 s (each one read at most, and a report only on a change
    // or every 30 s), whatever the request rate.
    expect(beaconCalls).toBeLessThanOrEqual(Math.ceil((3 * seconds) / 0.75) + 3);
    expect(beaconCalls).toBeLessThan(t.requests() / 3);
  }, 30_000);

  it("answers the publish token only, with the documented error bodies", async () => {
    const none = await fetch(`${isolates.urls.SIN}/v1/snapshot/locations`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: "unauthorized" });
    const wrong = await locations("10m", "not-the-token");
    expect(wrong.status).toBe(401);
    const bad = await locations("2d");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad_request" });
    const off = await locations("10m", TOKEN, kvOnly.url);
    expect(off.status).toBe(403);
    expect(await off.json()).toMatchObject({ error: "signal_disabled" });
  });
});

describe("edgeflags status", () => {
  it("shows the version each active location serves", async () => {
    const t = traffic(NAMES);
    try {
      await until(async () => {
        const view = await table();
        return view.locations.every((l) => l.version === view.version);
      }, 10_000);
    } finally {
      await t.stop();
    }
    const json = await cli(["status", "--json"], p.dir);
    expect(json.code, json.stderr).toBe(0);
    const body = json.json() as { locations: { entries: LocationEntry[]; activeWithinSeconds: number } };
    expect(body.locations.entries.map((l: { location: string }) => l.location).sort()).toEqual([
      "AMS",
      "GRU",
      "SIN",
    ]);
    expect(body.locations.activeWithinSeconds).toBe(600);
    const human = await cli(["status"], p.dir);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/locations active in the last 600 s \(announced version \d+\)/);
    expect(human.stdout).toMatch(/LOCATION\s+VERSION\s+SERVED AFTER\s+LAST REPORT/);
    expect(human.stdout).toMatch(/\bGRU\s+\d+\s+/);
  }, 30_000);
});

describe("usage", () => {
  it("refuses --confirm without what it needs before anything is pushed (exit 2)", async () => {
    const before = (await table()).version;
    const noWait = await cli(
      ["publish", p.write("nw.yaml", flagsYaml("no-wait")), "--confirm", "all", "--no-wait"],
      p.dir,
    );
    expect(noWait.code).toBe(2);
    expect(noWait.stderr).toMatch(/--confirm all needs the wait \(drop --no-wait\): nothing was published/);
    const scope = await cli(["publish", p.write("s.yaml", flagsYaml("scope")), "--confirm", "some"], p.dir);
    expect(scope.code).toBe(2);
    const within = await cli(
      ["publish", p.write("w.yaml", flagsYaml("window")), "--confirm", "all", "--active-within", "2d"],
      p.dir,
    );
    expect(within.code).toBe(2);
    expect(within.stderr).toMatch(/--active-within takes a duration from 1s to 1h/);
    const alone = await cli(
      ["publish", p.write("a.yaml", flagsYaml("alone")), "--confirm-timeout", "5"],
      p.dir,
    );
    expect(alone.code).toBe(2);
    expect((await table()).version).toBe(before);
  }, 30_000);
});
