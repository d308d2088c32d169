/**
 * Gates switched off by a KV writer: garbage in KV must not open the gates of a cold isolate. The
 * beacon's verified copy enforces them, and with no snapshot at all the default fails closed.
 */
import { describe, expect, it } from "vitest";
import { readGatewaySettings } from "../../src/gateway/settings";
import { GATEWAY_VERSION, gatewayFlags, gatewayHarness } from "./gateway-helpers";
import { snapshot } from "./helpers";
import { brokenBeacon, clock } from "./signal-helpers";
import { kvWriter, LONG_AFTER_MS, publishLegit } from "./trust-helpers";

const RU = { country: "RU", continent: "EU" };
const US = { country: "US", continent: "NA" };

async function publishGates(environment: string): Promise<void> {
  const jws = await snapshot({ environment, version: GATEWAY_VERSION, flags: gatewayFlags });
  await publishLegit(environment, GATEWAY_VERSION, jws);
}

describe("a KV writer and the gates", () => {
  it("garbage in `current` and the versioned key: a cold isolate still blocks a visitor from a blocked country", async () => {
    const environment = "trust-gw-garbage";
    await publishGates(environment);
    await kvWriter(environment, { current: "garbage", versions: [[GATEWAY_VERSION, "garbage"]] });

    const c = clock(Date.now() + LONG_AFTER_MS);
    const cold = gatewayHarness(environment, {}, { now: c.now });
    expect((await cold.fetch("/checkout/cart", { cf: RU })).status).toBe(451);
    expect((await cold.fetch("/checkout/cart", { cf: US })).status).toBe(200);
  });

  it("garbage in KV and the beacon unreachable: no snapshot, and by default nothing passes (503)", async () => {
    const environment = "trust-gw-nothing";
    await publishGates(environment);
    await kvWriter(environment, { current: "garbage", versions: [[GATEWAY_VERSION, "garbage"]] });

    const cold = gatewayHarness(environment, {}, { beacon: () => brokenBeacon, cache: null });
    const res = await cold.fetch("/checkout/cart", { cf: RU });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await cold.fetch("/about", { cf: US })).status).toBe(503);
  });

  it("GATEWAY_NO_SNAPSHOT=pass is still there for sites that choose availability", async () => {
    const cold = gatewayHarness("trust-gw-pass", { GATEWAY_NO_SNAPSHOT: "pass" });
    expect((await cold.fetch("/about", { cf: US })).status).toBe(200);
  });
});

describe("GATEWAY_NO_SNAPSHOT default", () => {
  it("is deny, in the code and in wrangler.toml", async () => {
    expect(readGatewaySettings({ GATEWAY: "true" }).noSnapshot).toBe("deny");
    expect(readGatewaySettings({ GATEWAY: "true", GATEWAY_NO_SNAPSHOT: "pass" }).noSnapshot).toBe("pass");
    // The harness's bindings come from wrangler.toml's [vars].
    const cold = gatewayHarness("trust-gw-default");
    expect((await cold.fetch("/about", { cf: US })).status).toBe(503);
  });
});
