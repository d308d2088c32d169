/**
 * A worker with a trust policy deployed without nodejs_compat (wrangler.toml's compatibility flag):
 * it cannot digest approvals, and says so in /healthz and to the publisher instead of failing every
 * load with "No such module". workerd on 127.0.0.1, once without the flag and once with it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishRequest } from "../../scripts/lib/snapshots";
import { NO_HASHER } from "../../src/http/runtime";
import { fixtureKeys, KIDS, POLICY } from "../publisher/approvals-helpers";

const bindings = {
  EDGEFLAGS_ENV: "compat",
  EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: KIDS.map((kid) => fixtureKeys[kid]?.public) }),
  EDGEFLAGS_POLICY: JSON.stringify(POLICY),
  PUBLISH_TOKEN: "compat-token",
};
let without: LocalWorker;
let withFlag: LocalWorker;

beforeAll(async () => {
  [without, withFlag] = await Promise.all([
    startLocalWorker({ bindings, compatibilityFlags: [] }),
    startLocalWorker({ bindings }),
  ]);
}, 30_000);
afterAll(() => Promise.all([without?.dispose(), withFlag?.dispose()]));

describe("a trust policy without nodejs_compat", () => {
  it("shows in /healthz as misconfigured, naming the flag", async () => {
    const res = await fetch(`${without.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "misconfigured", error: NO_HASHER });
    expect(NO_HASHER).toContain('compatibility_flags = ["nodejs_compat"]');
  });

  it("answers the publisher with the same message", async () => {
    const res = await fetch(`${without.url}/v1/snapshot`, publishRequest("x.y.z", "compat-token"));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal", message: NO_HASHER });
  });

  it("is not reported with the flag (wrangler.toml's settings)", async () => {
    const body = (await (await fetch(`${withFlag.url}/healthz`)).json()) as Record<string, unknown>;
    expect(body.status).not.toBe("misconfigured");
  });
});
