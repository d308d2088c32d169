/** The default helpers the engine's compile shares with the validator. */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SPLIT_BY,
  flagTypeOf,
  GEO_FIELDS,
  isClientVisible,
  isEnabled,
  offVariantOf,
  ruleIdOf,
  splitByOf,
  splitSaltOf,
  variantsOf,
} from "../../src/flags/defaults";

describe("flag defaults", () => {
  const bare = { fallthrough: "on" };

  it("a flag without variants is boolean on/off, off variant 'off', enabled, server-only", () => {
    expect(variantsOf(bare)).toEqual({ on: true, off: false });
    expect(offVariantOf(bare)).toBe("off");
    expect(flagTypeOf(bare)).toBe("boolean");
    expect(isEnabled(bare)).toBe(true);
    expect(isClientVisible(bare)).toBe(false);
  });

  it("honours what the flag says", () => {
    const flag = {
      variants: { a: "x", b: "y" },
      offVariant: "a",
      enabled: false,
      clientVisible: true,
      fallthrough: "b",
    };
    expect(offVariantOf(flag)).toBe("a");
    expect(flagTypeOf(flag)).toBe("string");
    expect(isEnabled(flag)).toBe(false);
    expect(isClientVisible(flag)).toBe(true);
  });

  it.each([
    [{ variants: { a: 1, b: "x" }, fallthrough: "a" }, undefined],
    [{ variants: { a: null, b: [1], c: { d: 1 } }, fallthrough: "a" }, "json"],
    [{ type: "number" as const, variants: { a: 1 }, fallthrough: "a" }, "number"],
    [{ type: "string" as const, variants: { a: 1 }, fallthrough: "a" }, undefined],
  ])("flagTypeOf(%j) is %s", (flag, type) => {
    expect(flagTypeOf(flag)).toBe(type);
  });

  it("rule ids, splits and geo fields", () => {
    expect(ruleIdOf({ when: [], serve: "on" }, 3)).toBe("rule-3");
    expect(ruleIdOf({ id: "beta", when: [], serve: "on" }, 3)).toBe("beta");
    expect(DEFAULT_SPLIT_BY).toBe("key");
    expect(splitByOf({ split: { on: 1 } })).toBe("key");
    expect(splitSaltOf({ split: { on: 1 } }, "my-flag")).toBe("my-flag");
    expect(splitSaltOf({ split: { on: 1 }, salt: "s" }, "my-flag")).toBe("s");
    expect(GEO_FIELDS).toContain("country");
    expect(GEO_FIELDS).toHaveLength(12);
  });
});
