/**
 * OpenFeature's tracking API end to end: the real @openfeature/web-sdk with the real
 * @openfeature/ofrep-web-provider, given `track` by src/client (withOutcomeTracking), posts
 * `client.track(...)` calls to the worker in workerd; the worker attributes them to the variants it
 * serves the visitor, whatever variant the details claim. Node has no sendBeacon: this is the fetch
 * path (test/browser/outcomes.test.ts runs the beacon path in Chromium).
 */
import { readFileSync } from "node:fs";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature } from "@openfeature/web-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import { withOutcomeTracking } from "../../src/client/index";
import type { FlagsDocument } from "../../src/flags/types";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { outcomeCounts } from "../fixtures/outcomes";
import { checkoutAndBanner } from "../fixtures/sample-flags";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const TOKEN = "track-token";
const flags: FlagsDocument = { flags: { ...checkoutAndBanner } };
let worker: LocalWorker;

beforeAll(async () => {
  worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: "track",
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
      PUBLISH_TOKEN: TOKEN,
    },
    cf: { country: "DE", continent: "EU" },
  });
  const jws = await signSnapshot(
    snapshotPayload(flags, { environment: "track", version: 1 }),
    await importSigningKey(keys.primary.private),
  );
  await publishTo(`${worker.url}/v1/snapshot`, jws, TOKEN);
}, 30_000);

afterAll(async () => {
  await Promise.all([worker?.dispose(), OpenFeature.close()]);
});

const outcomes = () => outcomeCounts(worker.url, TOKEN);

describe("client.track with the OFREP web provider", () => {
  it("sends tracked events to POST /v1/events, attributed to the served variants, never the claimed ones", async () => {
    const warned: string[] = [];
    await OpenFeature.setContext("track", { targetingKey: "visitor-1", plan: "enterprise" });
    const provider = withOutcomeTracking(
      new OFREPWebProvider({
        baseUrl: worker.url,
        pollInterval: 0,
        cacheMode: "disabled",
        changeDetection: "none",
      }),
      { baseUrl: worker.url, warn: (m) => warned.push(m) },
    );
    await OpenFeature.setProviderAndWait("track", provider);
    const client = OpenFeature.getClient("track");
    expect(client.getBooleanDetails("new-checkout", false).variant).toBe("on");
    expect(client.getStringDetails("banner-text", "x").variant).toBe("hallo");
    // Details claim the other variant: the worker never reads them for attribution.
    client.track("error", { variant: "off", flag: "new-checkout" });
    client.track("conversion", { value: 42 });
    client.track("error");
    client.track("not a valid name");
    await expect.poll(outcomes, { timeout: 5_000, interval: 100 }).toEqual({
      "new-checkout|on|error": 2,
      "new-checkout|on|conversion": 1,
      "banner-text|hallo|error": 2,
      "banner-text|hallo|conversion": 1,
    });
  });
});
