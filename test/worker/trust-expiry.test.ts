/**
 * Expiry: a warm isolate stops serving a snapshot at its `expiresAt` exactly as a cold one refuses
 * it (503 no_snapshot, the gateway's no-snapshot policy), /healthz shows `expiresAt`, and a newer
 * snapshot is picked up as on a cold start.
 */
import { describe, expect, it } from "vitest";
import { gatewayFlags, gatewayHarness } from "./gateway-helpers";
import { type Harness, harness, publishToKv, snapshot } from "./helpers";
import { clock } from "./signal-helpers";
import { health, served } from "./trust-helpers";

const US = { country: "US", continent: "NA" };

/** What a request and /healthz say, for comparing a warm isolate with a cold one. */
async function observe(h: Harness, path = "/v1/flags?targetingKey=u") {
  const res = await h.fetch(path, { cf: US });
  const { status, body } = await health(h);
  return {
    status: res.status,
    body: await res.text(),
    health: status,
    healthStatus: body.status,
    version: body.version,
    expiresAt: body.expiresAt,
    lastError: body.lastError?.code ?? null,
  };
}

describe("expiry on warm and cold isolates", () => {
  it("a warm isolate stops serving at expiresAt, exactly like a cold one, and /healthz shows expiresAt", async () => {
    const environment = "trust-exp-api";
    const c = clock();
    const expiresAt = new Date(c.t + 60_000).toISOString();
    await publishToKv(await snapshot({ environment, version: 5, expiresAt }), environment);
    const warm = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    expect(await served(warm)).toBe(5);
    expect((await health(warm)).body).toMatchObject({ status: "ok", version: 5, expiresAt });

    c.advance(70_000); // 10 s past expiresAt
    const cold = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    const [w, k] = [await observe(warm), await observe(cold)];
    expect(w).toEqual(k);
    expect(w).toMatchObject({
      status: 503,
      health: 503,
      healthStatus: "no_snapshot",
      version: null,
      expiresAt: null,
      lastError: "ERR_SNAPSHOT_EXPIRED",
    });
    expect(JSON.parse(w.body)).toMatchObject({ error: "no_snapshot" });
  });

  it("after expiry a newer snapshot is picked up on the next request, as on a cold start", async () => {
    const environment = "trust-exp-next";
    const c = clock();
    const expiresAt = new Date(c.t + 60_000).toISOString();
    await publishToKv(await snapshot({ environment, version: 5, expiresAt }), environment);
    const warm = harness({ EDGEFLAGS_ENV: environment }, { now: c.now });
    expect(await served(warm)).toBe(5);
    c.advance(61_000);
    expect((await warm.fetch("/v1/flags")).status).toBe(503);
    // Re-signed on schedule: a new version with a later expiry.
    const later = new Date(c.t + 60_000).toISOString();
    await publishToKv(await snapshot({ environment, version: 6, expiresAt: later }), environment);
    c.advance(1500);
    expect(await served(warm)).toBe(6);
    expect((await health(warm)).body).toMatchObject({ status: "ok", version: 6, expiresAt: later });
  });

  it("in gateway mode, an expired snapshot on a warm isolate is treated like none on a cold one", async () => {
    const environment = "trust-exp-gw";
    const c = clock();
    const expiresAt = new Date(c.t + 60_000).toISOString();
    await publishToKv(
      await snapshot({ environment, version: 12, flags: gatewayFlags, expiresAt }),
      environment,
    );
    const warm = gatewayHarness(environment, { DECISION_HEADER: "true" }, { now: c.now });
    expect((await warm.fetch("/about", { cf: US })).status).toBe(200);

    c.advance(70_000);
    const cold = gatewayHarness(environment, { DECISION_HEADER: "true" }, { now: c.now });
    for (const path of ["/about", "/checkout/cart", "/ops/panel"]) {
      const [w, k] = [await warm.fetch(path, { cf: US }), await cold.fetch(path, { cf: US })];
      expect(w.status).toBe(k.status);
      expect(w.headers.get("x-edgeflags-decision")).toBe(k.headers.get("x-edgeflags-decision"));
      expect(w.status).toBe(503); // GATEWAY_NO_SNAPSHOT defaults to deny
    }
  });
});
