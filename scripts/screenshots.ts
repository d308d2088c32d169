/**
 * `npx tsx scripts/screenshots.ts`: the console's screenshots in docs/ (flag list and a flag page, at
 * desktop and phone widths, and an explain answer), taken in the Chromium the browser tests use, from a worker in workerd
 * with the console demo (scripts/lib/console-demo.ts). I/O: a loopback worker, a browser, PNG files.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { findChromium } from "../test/browser/find-chromium";
import { CONSOLE_DEMO, startConsoleDemo } from "./lib/console-demo";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What is shot: file name under docs/, console path, viewport width. */
const SHOTS: [string, string, number][] = [
  ["console-list-desktop.png", "/console/", 1280],
  ["console-list-phone.png", "/console/", 390],
  ["console-flag-desktop.png", "/console/flags/new-checkout", 1280],
  ["console-flag-phone.png", "/console/flags/new-checkout", 390],
];

async function main(): Promise<number> {
  const executablePath = findChromium();
  if (!executablePath) {
    console.error("no Chromium found (set EDGEFLAGS_CHROMIUM=/path/to/chrome)");
    return 1;
  }
  const demo = await startConsoleDemo();
  const profile = mkdtempSync(join(tmpdir(), "edgeflags-shots-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${demo.url}/console/login`);
    await page.fill("#token", CONSOLE_DEMO.consoleToken);
    await page.click("button[type=submit]");
    await page.waitForSelector("table");
    for (const [file, path, width] of SHOTS) {
      await page.setViewportSize({ width, height: width > 600 ? 800 : 844 });
      await page.goto(`${demo.url}${path}`);
      await page.screenshot({ path: join(root, "docs", file), fullPage: true });
      console.log(`docs/${file}`);
    }
    // An explain answer: a visitor in New York, where crypto-payments is geo-blocked.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${demo.url}/console/flags/crypto-payments`);
    await page.fill("#ex-key", "qa-account-1");
    await page.fill("#ex-country", "US");
    await page.fill("#ex-region", "NY");
    await page.click("form[action$='/explain'] button[type=submit]");
    await page.waitForSelector("#result-h");
    await page.screenshot({ path: join(root, "docs", "console-explain-desktop.png"), fullPage: true });
    console.log("docs/console-explain-desktop.png");
    return 0;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await demo.dispose();
  }
}

process.exitCode = await main();
