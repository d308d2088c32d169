/**
 * The operator console in a real Chromium against the worker in workerd (scripts/lib/console-demo.ts:
 * the demo flags as three versions, an hour of counts): signing in, the flag list, a flag's history
 * diff and chart, explain for DE and for New York, a refused token, keyboard navigation, and a phone-width window without horizontal
 * page overflow.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CONSOLE_DEMO, type ConsoleDemo, startConsoleDemo } from "../../scripts/lib/console-demo";
import { describeBrowser, launchChromium } from "./chromium";

let demo: ConsoleDemo;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let browser: BrowserContext;

/** A new page signed in with `token` (through the sign-in form, which replaces any earlier session). */
async function signIn(token: string, page?: Page): Promise<Page> {
  const p = page ?? (await browser.newPage());
  await p.goto(`${demo.url}/console/login`);
  await p.fill("#token", token);
  await p.click("button[type=submit]");
  return p;
}

describeBrowser("operator console in chromium", () => {
  beforeAll(async () => {
    demo = await startConsoleDemo();
    chromium = await launchChromium();
    browser = chromium.browser;
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await demo?.dispose();
  });

  it("signs in with the console token and lists the demo flags", async () => {
    const page = await signIn(CONSOLE_DEMO.consoleToken);
    await page.waitForSelector("table.reflow");
    expect(page.url()).toBe(`${demo.url}/console/`);
    const keys = await page.locator("td.key a").allTextContents();
    expect(keys).toEqual(
      expect.arrayContaining(["demo-flag", "new-checkout", "button-color", "search-backend-v2"]),
    );
    expect(await page.textContent("tr:has(a:text-is('search-backend-v2')) td[data-label=State]")).toBe(
      "killed",
    );
    // The cookie is HttpOnly: the page's scripts (if any could run) would not see it.
    expect(await page.evaluate("document.cookie")).toBe("");
    await page.close();
  }, 30_000);

  it("opens a flag and shows its history diff and the counts chart", async () => {
    const page = await signIn(CONSOLE_DEMO.publishToken);
    await page.click("a:text-is('new-checkout')");
    await page.waitForSelector("h1:has-text('new-checkout')");
    const history = await page.textContent("#hist-h + ol.history");
    expect(history).toContain("Version 2");
    expect(history).toContain("widen the new checkout to 25%");
    expect(await page.locator("ol.history del").first().textContent()).toBe("10");
    expect(await page.locator("ol.history ins").first().textContent()).toBe("25");
    const svg = page.locator(".chart svg");
    expect(await svg.isVisible()).toBe(true);
    expect(await svg.locator("polyline").count()).toBe(2);
    const box = await svg.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(100);
    expect(await page.textContent(".legend")).toMatch(/on: \d+/);
    expect(await page.isVisible("form[action$='/explain'] #ex-key")).toBe(true);
    await page.close();
  }, 30_000);

  it("explains a flag for a visitor in DE and one in New York, with different results", async () => {
    const page = await signIn(CONSOLE_DEMO.consoleToken);
    await page.goto(`${demo.url}/console/flags/crypto-payments`);
    const run = async (country: string, region: string) => {
      await page.fill("#ex-key", "qa-account-1");
      await page.fill("#ex-country", country);
      await page.fill("#ex-region", region);
      await page.click("form[action$='/explain'] button[type=submit]");
      await page.waitForSelector("#result-h");
      return {
        result: (await page.textContent("#result-h + p")) ?? "",
        steps: await page.locator("ol.trace li").allTextContents(),
      };
    };
    const de = await run("DE", "");
    expect(de.result).toContain("crypto-payments = true");
    expect(de.steps).toContain("✓holds: geo DE: not blocked");
    // The answer page keeps the form filled in: the next visitor is asked from there.
    expect(await page.inputValue("#ex-country")).toBe("DE");
    const ny = await run("US", "NY");
    expect(ny.result).toContain("crypto-payments = false");
    expect(ny.result).toContain("off, TARGETING_MATCH (geo)");
    expect(ny.steps).toContain("✗does not hold: geo US/NY: blocked by region US-NY -> off");
    await page.close();
  }, 30_000);

  it("refuses a wrong token with a message and stays on the sign-in form", async () => {
    const context = await browser.browser()?.newContext();
    const page = context ? await context.newPage() : await browser.newPage();
    await page.goto(`${demo.url}/console/login`);
    await page.fill("#token", "not-the-token");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("button[type=submit]"),
    ]);
    expect(response.status()).toBe(401);
    expect(await page.textContent("[role=alert]")).toContain("That token is not accepted here.");
    expect(await page.isVisible("#token")).toBe(true);
    await page.close();
    await context?.close();
  }, 30_000);

  it("is usable from the keyboard: the skip link first, then every link reached with Tab", async () => {
    const page = await signIn(CONSOLE_DEMO.consoleToken);
    await page.waitForSelector("table.reflow");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement && document.activeElement.textContent")).toBe(
      "Skip to content",
    );
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      // What has focus, and its outline (a visible focus indicator on whatever has focus).
      const text = (await page.evaluate(`(() => {
        const el = document.activeElement;
        return el && el !== document.body ? el.textContent.trim() + "|" + getComputedStyle(el).outlineStyle : "";
      })()`)) as string;
      if (text) reached.add(text.split("|")[0] as string);
      if (text) expect(text.split("|")[1], text).not.toBe("none");
    }
    for (const name of ["Flags", "Locations", "Sign out", "new-checkout", "search-config"]) {
      expect([...reached], name).toContain(name);
    }
    // Enter on a flag link opens it.
    await page.focus("a:text-is('button-color')");
    await page.keyboard.press("Enter");
    await page.waitForSelector("h1:has-text('button-color')");
    await page.close();
  }, 30_000);

  it("fits a phone: no horizontal page overflow on the list, a flag page and the locations", async () => {
    const page = await signIn(CONSOLE_DEMO.consoleToken);
    await page.setViewportSize({ width: 375, height: 740 });
    for (const path of [
      "/console/",
      "/console/flags/new-checkout",
      "/console/flags/live-support-chat",
      "/console/locations",
    ]) {
      await page.goto(`${demo.url}${path}`);
      const { scroll, inner } = (await page.evaluate(
        "({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth })",
      )) as { scroll: number; inner: number };
      expect(scroll, path).toBeLessThanOrEqual(inner);
    }
    await page.close();
  }, 30_000);
});
