/**
 * Finding and starting a real Chromium for the browser suites (playwright-core drives it; it cannot
 * download browsers). Without one, a developer's `npm test` skips these suites with one line saying
 * so; under CI=true a missing browser fails them instead. I/O: looks at PATH, starts a process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { describe } from "vitest";
import { browserRequired, findChromium, SKIP_LINE } from "./find-chromium";

const found = findChromium();
const skip = found === undefined && !browserRequired();

/** `describe` for a browser suite: skipped without a browser, except under CI=true. */
export const describeBrowser = describe.skipIf(skip);

/** A fresh headless Chromium profile; `close()` also removes the profile. */
export async function launchChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  if (found === undefined) {
    throw new Error(`CI=true and no browser found. ${SKIP_LINE.replace("browser tests skipped: ", "")}`);
  }
  const profile = mkdtempSync(join(tmpdir(), "edgeflags-chromium-"));
  // A fresh profile per run (playwright's way of passing --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: found,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
