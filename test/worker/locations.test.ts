/**
 * The beacon's location table, in workerd with a fake clock: reports ride on the beacon reads a
 * location already makes (no call per request, one report per location per publish), the location
 * comes from `request.cf.colo`, and the table is bounded, drops malformed reports and times each
 * location from the announcement. End to end with the CLI: test/publisher/confirm.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { Beacon, LocationReport, LocationsView } from "../../src/signal/types";
import { type Harness, harness, publishToKv, snapshot } from "./helpers";
import { clock, realBeacon } from "./signal-helpers";

const INTERVAL_MS = 2000;

/** Wraps a beacon, counting reads, reads that carried a report, and separate report calls. */
function countingBeacon(inner: Beacon) {
  const calls = { read: 0, carried: 0, report: 0 };
  const beacon: Beacon = {
    read(report?: LocationReport) {
      calls.read++;
      if (report) calls.carried++;
      return inner.read(report);
    },
    snapshot: (v) => inner.snapshot(v),
    announce: (e, v, j) => inner.announce(e, v, j),
    report(report) {
      calls.report++;
      return (inner.report as (r: LocationReport) => Promise<void>)(report);
    },
  };
  return { calls, beacon };
}

const table = (environment: string, withinMs = 600_000): Promise<LocationsView> =>
  (realBeacon(environment).locations as (ms: number) => Promise<LocationsView>)(withinMs);

async function served(h: Harness): Promise<number> {
  const res = await h.fetch("/v1/flags?targetingKey=u", { cf: { colo: "FRA" } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

describe("reports", () => {
  it("ride on the location's beacon reads: a minute of traffic makes no report call, a publish one", async () => {
    const environment = "loc-coalesce";
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    const c = clock();
    const counted = countingBeacon(realBeacon(environment));
    const location = await caches.open("loc-coalesce-location");
    let n = 0;
    const isolates = Array.from({ length: 10 }, () =>
      harness(
        { EDGEFLAGS_ENV: environment },
        { now: c.now, beacon: () => counted.beacon, cache: location, random: () => (n++ % 10) / 10 },
      ),
    );
    const run = async (ms: number) => {
      const start = c.t;
      let requests = 0;
      for (let i = 0; c.t - start < ms; i++) {
        await served(isolates[i % isolates.length] as Harness);
        requests++;
        c.advance(20);
      }
      return requests;
    };
    await run(5000); // every isolate warm and serving version 1
    const before = { ...counted.calls };
    const requests = await run(60_000);
    const reads = counted.calls.read - before.read;
    expect(requests).toBe(3000);
    // One read per half interval for the location, each carrying the report; no separate report.
    expect(reads).toBeLessThanOrEqual(60_000 / (INTERVAL_MS / 2) + 2);
    expect(counted.calls.carried - before.carried).toBe(reads);
    expect(counted.calls.report - before.report).toBe(0);
    expect((await table(environment)).locations).toMatchObject([{ location: "FRA", version: 1 }]);

    const v2 = await snapshot({ environment, version: 2 });
    await publishToKv(v2, environment);
    await realBeacon(environment).announce(environment, 2, v2);
    const beforePublish = counted.calls.report;
    await run(5000);
    expect(await Promise.all(isolates.map(served))).toEqual(Array(10).fill(2));
    // The first isolate to serve version 2 reports it; the others find its marker in the cache.
    expect(counted.calls.report - beforePublish).toBeLessThanOrEqual(1);
    const view = await table(environment);
    expect(view.version).toBe(2);
    expect(view.locations).toMatchObject([{ location: "FRA", version: 2 }]);
    expect(typeof view.locations[0]?.lagMs).toBe("number");
  });

  it("come from SIGNAL_LOCATION when set, whatever cf.colo says", async () => {
    const environment = "loc-named";
    await publishToKv(await snapshot({ environment, version: 1 }), environment);
    await realBeacon(environment).announce(environment, 1, null);
    const h = harness({ EDGEFLAGS_ENV: environment, SIGNAL_LOCATION: "edge-lab" }, { cache: null });
    await served(h);
    await served(h); // the first request loads; a check then reads the beacon with the report
    const view = await table(environment);
    expect(view.locations.map((l) => l.location)).toEqual(["edge-lab"]);
    const health = (await (await h.fetch("/healthz")).json()) as { signal: { location: string } };
    expect(health.signal.location).toBe("edge-lab");
  });
});

describe("the table", () => {
  it("holds at most 1,024 locations, evicting the longest silent, and ignores malformed reports", async () => {
    const environment = "loc-bound";
    const beacon = realBeacon(environment);
    const report = beacon.report as (r: LocationReport) => Promise<void>;
    const now = Date.now();
    for (let i = 0; i < 1030; i++) {
      await report({ location: `L${String(i).padStart(4, "0")}`, version: 1, since: now });
    }
    await report({ location: "", version: 1, since: now });
    await report({ location: "x".repeat(65), version: 1, since: now });
    await report({ location: "BAD", version: Number.NaN, since: now });
    const view = await table(environment);
    expect(view.locations).toHaveLength(1024);
    expect(view.locations[0]?.location).toBe("L0006");
    expect(view.locations.some((l) => l.location === "BAD")).toBe(false);
  });

  it("times a location from the announcement to when it first served the version", async () => {
    const environment = "loc-lag";
    const beacon = realBeacon(environment);
    const state = await beacon.announce(environment, 3, null);
    const announcedAt = Date.parse(state.updatedAt);
    const report = beacon.report as (r: LocationReport) => Promise<void>;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(300);
    const first = Date.now();
    await report({ location: "AMS", version: 3, since: first });
    await sleep(100);
    await report({ location: "AMS", version: 3, since: Date.now() }); // a later isolate there
    await report({ location: "SIN", version: 2, since: announcedAt - 60_000 });
    // An isolate clock ahead of the beacon's counts as now, not as a lag from the future.
    await report({ location: "NYC", version: 3, since: Date.now() + 3_600_000 });
    const view = await table(environment);
    expect(view.locations).toMatchObject([
      { location: "AMS", version: 3, lagMs: first - announcedAt },
      { location: "NYC", version: 3 },
      { location: "SIN", version: 2, lagMs: null },
    ]);
    expect(first - announcedAt).toBeGreaterThanOrEqual(300);
    expect(view.locations[1]?.lagMs).toBeLessThan(5000);
  });
});
