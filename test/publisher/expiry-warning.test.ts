/** The publish warning for an expiry shorter than the worker's refresh cadence. */
import { describe, expect, it } from "vitest";
import { DEFAULT_CADENCE, expiryWarning, refreshCadenceMs } from "../../src/publisher/expiry-warning";

describe("refreshCadenceMs", () => {
  it("is KV propagation + KV cache TTL + the refresh interval: 100 s with the defaults", () => {
    expect(refreshCadenceMs()).toBe(100_000);
    expect(refreshCadenceMs({ refreshSeconds: 60 })).toBe(150_000);
    expect(DEFAULT_CADENCE).toEqual({ refreshSeconds: 10, kvCacheTtlSeconds: 30, kvPropagationSeconds: 60 });
  });
});

describe("expiryWarning", () => {
  it.each<[string, number, Parameters<typeof expiryWarning>[1], boolean]>([
    ["90 s, defaults", 90_000, {}, true],
    ["exactly the cadence", 100_000, {}, true],
    ["just over the cadence", 101_000, {}, false],
    ["30 d", 30 * 86_400_000, {}, false],
    ["2 m with REFRESH_INTERVAL_SECONDS=60", 120_000, { refreshSeconds: 60 }, true],
  ])("%s: warns = %s", (_what, expiresInMs, cadence, warns) => {
    expect(expiryWarning(expiresInMs, cadence) !== undefined).toBe(warns);
  });

  it("names the expiry, the cadence and its parts, and what to do", () => {
    expect(expiryWarning(90_000)).toBe(
      "the snapshot expires in 90 s, within the worker's refresh cadence (100 s: KV propagation 60 s + " +
        "KV_CACHE_TTL_SECONDS 30 + REFRESH_INTERVAL_SECONDS 10); isolates may serve nothing before they " +
        'see the next snapshot. Use a longer --expires-in and re-sign well before it runs out (README "Keeping a snapshot fresh")',
    );
  });
});
