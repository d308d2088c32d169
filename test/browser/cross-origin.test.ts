/**
 * The README's plain-fetch snippets, run as written in real Chromium from a page on another site
 * (http://localhost:<port> fetching the worker on http://127.0.0.1:<port>): with the default settings
 * (CORS_ORIGINS="*", a targeting key) and with a listed origin and a cross-site cookie (anonymous
 * visitors). The snippets are read from README.md, so the docs cannot drift from what works.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import { parseFlagsFile } from "../../src/flags/parse";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { describeBrowser, launchChromium } from "./chromium";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const demo = readFileSync(new URL("../../examples/demo.flags.yaml", import.meta.url), "utf8");

/** The README's ```js blocks that fetch /v1/flags: [default settings, cross-site cookie]. */
const snippets = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m) => m[1] as string)
  .filter((code) => code.includes("https://flags.example.com/v1/flags"));

let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page;
let pageServer: Server;
let pageOrigin: string;
const workers: Record<"defaults" | "listed", LocalWorker | undefined> = {
  defaults: undefined,
  listed: undefined,
};

async function publish(worker: LocalWorker): Promise<void> {
  const { document, problems } = parseFlagsFile(demo, "demo.flags.yaml");
  expect(problems).toEqual([]);
  const jws = await signSnapshot(
    snapshotPayload(document!, { environment: "development", version: 1 }),
    await importSigningKey(keys.primary.private),
  );
  // Throws unless the intake answers 201.
  await publishTo(`${worker.url}/v1/snapshot`, jws, "demo-token");
}

/** Runs a README snippet in the page against `worker`; returns its variables, or the error it threw. */
async function run(snippet: string, worker: LocalWorker) {
  const code = snippet.replaceAll("https://flags.example.com", worker.url);
  return page.evaluate(`(async () => {
    const user = { id: "user-1" };
    let shown = false;
    const showNewCheckout = () => { shown = true; };
    try {
      ${code}
      return { flags, shown };
    } catch (err) {
      return { error: String(err) };
    }
  })()`) as Promise<{ flags?: Record<string, unknown>; shown?: boolean; error?: string }>;
}

describeBrowser("README plain-fetch snippets in chromium, from another site", () => {
  beforeAll(async () => {
    chromium = await launchChromium();
    pageServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>app</title><p>a front-end on another site</p>");
    });
    await new Promise<void>((done) => pageServer.listen(0, "127.0.0.1", done));
    // localhost and 127.0.0.1 are different sites: the fetch is cross-site, as from app.example.com.
    pageOrigin = `http://localhost:${(pageServer.address() as AddressInfo).port}`;
    const common = {
      EDGEFLAGS_ENV: "development",
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
      PUBLISH_TOKEN: "demo-token",
    };
    const [defaults, listed] = await Promise.all([
      startLocalWorker({ bindings: common }),
      startLocalWorker({ bindings: { ...common, CORS_ORIGINS: pageOrigin, ANON_COOKIE_SAMESITE: "None" } }),
    ]);
    Object.assign(workers, { defaults, listed });
    await Promise.all([publish(defaults), publish(listed)]);
    page = await chromium.browser.newPage();
    await page.goto(`${pageOrigin}/`);
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await Promise.all(Object.values(workers).map((w) => w?.dispose()));
    pageServer?.close();
  });

  it("finds both snippets in the README", () => {
    expect(snippets).toHaveLength(2);
    expect(snippets[0]).not.toContain("credentials");
    expect(snippets[1]).toContain('credentials: "include"');
  });

  it("the default snippet works with the default settings (CORS_ORIGINS=*), the same on every call", async () => {
    const first = await run(snippets[0] as string, workers.defaults as LocalWorker);
    expect(first.error).toBeUndefined();
    expect(first.flags).toMatchObject({ "demo-flag": true, "new-checkout": true });
    expect(first.shown).toBe(true); // user-1 is in the beta segment
    expect(["grey", "blue", "green"]).toContain(first.flags?.["button-color"]);
    expect(await run(snippets[0] as string, workers.defaults as LocalWorker)).toEqual(first);
    // No anonymous id was invented: the browser would not keep a cookie from this cross-site answer.
    expect(await chromium?.browser.cookies()).toEqual([]);
  });

  it("the anonymous snippet keeps one id in a cookie when the origin is listed", async () => {
    const worker = workers.listed as LocalWorker;
    const first = await run(snippets[1] as string, worker);
    expect(first.error).toBeUndefined();
    expect(first.flags).toMatchObject({ "demo-flag": true });
    const cookies = await chromium?.browser.cookies(worker.url);
    expect(cookies?.map((c) => [c.name, c.sameSite, c.secure, c.httpOnly])).toEqual([
      ["ef_id", "None", true, true],
    ]);
    for (let i = 0; i < 3; i++) {
      expect(await run(snippets[1] as string, worker)).toEqual(first);
      expect((await chromium?.browser.cookies(worker.url))?.map((c) => c.value)).toEqual([
        cookies?.[0]?.value,
      ]);
    }
  });

  it("the anonymous snippet is refused by the browser under CORS_ORIGINS=* (why the origin must be listed)", async () => {
    const result = await run(snippets[1] as string, workers.defaults as LocalWorker);
    expect(result.error).toMatch(/TypeError: Failed to fetch/);
  });
});
