/**
 * Outcome events from real Chromium, a page on another site than the worker (workerd on 127.0.0.1):
 * a plain `navigator.sendBeacon` call, and OpenFeature's `client.track` through the real web SDK and
 * OFREP web provider given `track` by src/client, which sends with sendBeacon. The worker answers 204
 * to the text/plain;charset=UTF-8 beacon and attributes the events to the variants it serves.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Request as PwRequest } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import type { FlagsDocument } from "../../src/flags/types";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { outcomeCounts } from "../fixtures/outcomes";
import { checkoutAndBanner } from "../fixtures/sample-flags";
import { describeBrowser, launchChromium } from "./chromium";
import { openFeatureBundle, servePage } from "./page";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const ENV = "outcomes-browser";
const TOKEN = "outcomes-token";

let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let pageServer: Server;
let pageOrigin: string;
let worker: LocalWorker | undefined;

const outcomes = () => outcomeCounts(worker?.url as string, TOKEN);

/** The beacons the page sends to /v1/events, with their content type and the worker's status. */
function beacons(page: import("playwright-core").Page) {
  const seen: { type: string | undefined; status: number | undefined; body: string | null }[] = [];
  page.on("requestfinished", async (req: PwRequest) => {
    if (req.method() !== "POST" || !req.url().includes("/v1/events")) return;
    const res = await req.response();
    seen.push({ type: req.headers()["content-type"], status: res?.status(), body: req.postData() });
  });
  return seen;
}

describeBrowser("outcome events in chromium", () => {
  beforeAll(async () => {
    ({ server: pageServer, origin: pageOrigin } = await servePage(
      await openFeatureBundle('export { withOutcomeTracking } from "./src/client/index.ts";'),
    ));
    worker = await startLocalWorker({
      bindings: {
        EDGEFLAGS_ENV: ENV,
        EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
        PUBLISH_TOKEN: TOKEN,
      },
      cf: { country: "DE", continent: "EU" },
    });
    const flags: FlagsDocument = { flags: { ...checkoutAndBanner } };
    const jws = await signSnapshot(
      snapshotPayload(flags, { environment: ENV, version: 1 }),
      await importSigningKey(keys.primary.private),
    );
    await publishTo(`${worker.url}/v1/snapshot`, jws, TOKEN);
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await worker?.dispose();
    pageServer?.close();
  });

  it("a plain navigator.sendBeacon: text/plain;charset=UTF-8, 204, attributed to the served variant", async () => {
    const page = await (chromium as NonNullable<typeof chromium>).browser.newPage();
    const seen = beacons(page);
    await page.goto(`${pageOrigin}/`);
    const queued = await page.evaluate(
      `navigator.sendBeacon(${JSON.stringify(`${worker?.url}/v1/events`)}, JSON.stringify({
        events: [{ name: "error" }],
        context: { targetingKey: "beacon-1", plan: "free" },
        flags: ["new-checkout"],
      }))`,
    );
    expect(queued).toBe(true);
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(1);
    expect(seen[0]).toMatchObject({ type: "text/plain;charset=UTF-8", status: 204 });
    await expect.poll(outcomes, { timeout: 5_000 }).toEqual({ "new-checkout|off|error": 1 });
    await page.close();
  }, 30_000);

  it("OpenFeature's client.track through the OFREP web provider sends a beacon per tick, attributed by the worker", async () => {
    const page = await (chromium as NonNullable<typeof chromium>).browser.newPage();
    const seen = beacons(page);
    await page.goto(`${pageOrigin}/`);
    const served = await page.evaluate(`(async () => {
      const { OpenFeature, OFREPWebProvider, withOutcomeTracking } = window.OF;
      const baseUrl = ${JSON.stringify(worker?.url)};
      await OpenFeature.setContext({ targetingKey: "visitor-7", plan: "enterprise" });
      await OpenFeature.setProviderAndWait(withOutcomeTracking(new OFREPWebProvider({ baseUrl }), { baseUrl }));
      const client = OpenFeature.getClient();
      const variant = client.getBooleanDetails("new-checkout", false).variant;
      client.track("conversion", { value: 3, variant: "off" });
      client.track("error");
      return variant;
    })()`);
    expect(served).toBe("on");
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(1);
    expect(seen[0]).toMatchObject({ type: "text/plain;charset=UTF-8", status: 204 });
    expect(JSON.parse(seen[0]?.body ?? "{}").events).toEqual([
      { name: "conversion", value: 3, details: { variant: "off" } },
      { name: "error" },
    ]);
    await expect.poll(outcomes, { timeout: 5_000 }).toMatchObject({
      "new-checkout|on|conversion": 1,
      "new-checkout|on|error": 1,
      "banner-text|hallo|conversion": 1,
      "banner-text|hallo|error": 1,
    });
    await page.close();
  }, 30_000);
});
