/**
 * The gateway demo in a real browser (Debian chromium via playwright-core): the worker runs in workerd on
 * 127.0.0.1 with GATEWAY=true in front of the demo origin (node:http on 127.0.0.1). The page renders from
 * the flags injected at the edge; a visitor from a blocked country gets the gate's 451.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDemoOrigin } from "../../examples/gateway-demo/origin";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { parseFlagsFile } from "../../src/flags/parse";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { describeBrowser, launchChromium } from "./chromium";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const flagsFile = new URL("../../examples/gateway-demo/flags.yaml", import.meta.url);

let origin: Awaited<ReturnType<typeof startDemoOrigin>>;
let visitors: Record<"US" | "DE" | "RU", LocalWorker>;
let browser: BrowserContext;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let screenshots: string;

describeBrowser("gateway demo in chromium", () => {
  beforeAll(async () => {
    screenshots = mkdtempSync(join(tmpdir(), "edgeflags-shots-"));
    const { document, problems } = parseFlagsFile(readFileSync(flagsFile, "utf8"), "flags.yaml");
    expect(problems).toEqual([]);
    origin = await startDemoOrigin();
    const bindings = {
      EDGEFLAGS_ENV: "demo",
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
      PUBLISH_TOKEN: "demo-token",
      GATEWAY: "true",
      ORIGIN_URL: origin.url,
      INJECT_HTML: "true",
    };
    // Miniflare fixes request.cf per instance: one worker per visitor country.
    const [us, de, ru] = await Promise.all([
      startLocalWorker({ bindings, cf: { country: "US", continent: "NA", colo: "SJC" } }),
      startLocalWorker({ bindings, cf: { country: "DE", continent: "EU", colo: "FRA" } }),
      startLocalWorker({ bindings, cf: { country: "RU", continent: "EU", colo: "HEL" } }),
    ]);
    visitors = { US: us, DE: de, RU: ru };
    const jws = await signSnapshot(
      snapshotPayload(document!, { environment: "demo", version: 1 }),
      await importSigningKey(keys.primary.private),
    );
    // Published through the API under the gateway's prefix, as the publisher would.
    for (const w of Object.values(visitors)) {
      const res = await fetch(`${w.url}/__edgeflags/v1/snapshot`, {
        method: "PUT",
        headers: { authorization: "Bearer demo-token", "content-type": "application/jose" },
        body: jws,
      });
      expect(res.status).toBe(201);
    }
    chromium = await launchChromium();
    browser = chromium.browser;
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await Promise.all(Object.values(visitors ?? {}).map((w) => w.dispose()));
    await origin?.close();
    // KEEP_SCREENSHOTS=1 keeps them for a look; otherwise the run leaves nothing behind.
    if (process.env.KEEP_SCREENSHOTS === "1") console.log(`screenshots: ${screenshots}`);
    else if (screenshots) rmSync(screenshots, { recursive: true, force: true });
  });

  /** Saves a screenshot and checks it is a real PNG of some size. */
  async function shoot(page: Page, name: string): Promise<void> {
    const png = await page.screenshot({ path: join(screenshots, name) });
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeGreaterThan(2000);
  }

  async function visit(country: keyof typeof visitors, path: string) {
    const page = await browser.newPage();
    const response = await page.goto(`${visitors[country].url}${path}`);
    return { page, response };
  }

  it("renders the home page from the flags injected at the edge", async () => {
    const { page, response } = await visit("US", "/");
    expect(response?.status()).toBe(200);
    expect(response?.headers()["cache-control"]).toBe("private, max-age=60");
    expect(await page.textContent("#banner")).toBe("Welcome to the demo shop!");
    expect(await page.isVisible("#checkout")).toBe(true);
    expect(await page.textContent("#source")).toBe("flags injected at the edge");
    expect(await page.textContent("main")).toContain("The origin received the visitor's flags in a header.");
    await shoot(page, "home-us.png");
    await page.close();
  });

  it("renders for a visitor in the EU: another banner, same checkout", async () => {
    const { page } = await visit("DE", "/");
    expect(await page.textContent("#banner")).toBe("Welcome! Prices include VAT.");
    expect(await page.isVisible("#checkout")).toBe(true);
    await page.close();
  });

  it("hides the checkout link and answers the checkout with 451 for a blocked country", async () => {
    const home = await visit("RU", "/");
    expect(await home.page.isVisible("#checkout")).toBe(false);
    expect(await home.page.textContent("#banner")).toBe("Welcome! Prices include VAT.");
    await home.page.close();
    const { page, response } = await visit("RU", "/checkout/");
    expect(response?.status()).toBe(451);
    expect(await page.textContent("body")).toBe("The checkout is not available in your country.");
    await shoot(page, "checkout-ru.png");
    await page.close();
    const allowed = await visit("US", "/checkout/");
    expect(allowed.response?.status()).toBe(200);
    expect(await allowed.page.textContent("h1")).toBe("Checkout");
    await allowed.page.close();
  });
});
