/** The worker's preview settings (src/http/config.ts): the lifetime cap and the cookie's SameSite. */
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/http/config";
import type { Env } from "../../src/http/env";

const config = (vars: Record<string, string>) => readConfig(vars as unknown as Env);

describe("preview settings", () => {
  it("default to 7 days and SameSite=Lax, without warnings", () => {
    const c = config({});
    expect(c.preview).toEqual({ maxLifetimeSeconds: 604_800, sameSite: "Lax" });
    expect(c.warnings).toEqual([]);
  });

  it("PREVIEW_MAX_LIFETIME_SECONDS may lower the cap, never raise it", () => {
    expect(config({ PREVIEW_MAX_LIFETIME_SECONDS: "3600" }).preview.maxLifetimeSeconds).toBe(3600);
    const raised = config({ PREVIEW_MAX_LIFETIME_SECONDS: "2592000" });
    expect(raised.preview.maxLifetimeSeconds).toBe(604_800);
    expect(raised.warnings).toEqual([
      expect.stringMatching(/^PREVIEW_MAX_LIFETIME_SECONDS=.*at most 604800/),
    ]);
    expect(config({ PREVIEW_MAX_LIFETIME_SECONDS: "0" }).warnings).toHaveLength(1);
  });

  it("the cookie follows ANON_COOKIE_SAMESITE, also with the anonymous-id cookie off", () => {
    expect(config({ ANON_COOKIE_SAMESITE: "none" }).preview.sameSite).toBe("None");
    const off = config({ ANON_COOKIE: "off", ANON_COOKIE_SAMESITE: "None" });
    expect(off.anonCookie).toBeUndefined();
    expect(off.preview.sameSite).toBe("None");
  });
});
