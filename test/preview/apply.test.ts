/**
 * Which overrides of a verified preview token apply (src/preview/apply.ts), in Node over a compiled
 * document: scope, permission flags and kill switches (also through prerequisites), geo restrictions
 * (also through prerequisites, whichever step decided), the bound targeting key, unknown variants,
 * expiry; and that results are the shared PREVIEW ones.
 */
import { describe, expect, it } from "vitest";
import { compile, type EvaluationContext, evaluateAll } from "../../src/eval/index";
import type { FlagsDocument } from "../../src/flags/types";
import { applyPreview, previewOverride } from "../../src/preview/apply";
import type { PreviewGrant } from "../../src/preview/token";

const doc: FlagsDocument = {
  flags: {
    a: { tags: ["web"], fallthrough: "off" },
    theme: { tags: ["web"], variants: { light: "light", dark: "dark" }, fallthrough: "light" },
    other: { tags: ["search"], fallthrough: "off" },
    perm: { kind: "permission", tags: ["web"], fallthrough: "off" },
    "needs-perm": { tags: ["web"], prerequisites: [{ flag: "perm", variants: ["on"] }], fallthrough: "on" },
    killed: { tags: ["web"], enabled: false, fallthrough: "on" },
    "needs-killed": {
      tags: ["web"],
      prerequisites: [{ flag: "killed", variants: ["on"] }],
      fallthrough: "on",
    },
    geo: { tags: ["web"], geo: { allow: { countries: ["DE"] } }, fallthrough: "on" },
    "needs-geo": {
      tags: ["web"],
      prerequisites: [{ flag: "geo", variants: ["on", "off"] }],
      fallthrough: "off",
    },
    // Out of schedule for everyone: the schedule decides first, yet the geo restriction still holds.
    "geo-later": {
      tags: ["web"],
      schedule: { from: "2099-01-01T00:00:00Z" },
      geo: { block: { countries: ["RU"] } },
      fallthrough: "on",
    },
  },
};
const snapshot = { payload: { flags: doc }, compiled: compile(doc) };
const NOW = Date.UTC(2026, 0, 15, 12);
const DE: EvaluationContext = { targetingKey: "u1", geo: { country: "DE" } };
const US: EvaluationContext = { targetingKey: "u1", geo: { country: "US" } };
const RU: EvaluationContext = { targetingKey: "u1", geo: { country: "RU" } };

function grant(flags: Record<string, string>, extra: Partial<PreviewGrant> = {}): PreviewGrant {
  return {
    kid: "qa",
    key: { roles: ["preview"], scope: ["tag:web"] },
    flags: new Map(Object.entries(flags)),
    iat: NOW / 1000 - 60,
    exp: NOW / 1000 + 3600,
    ...extra,
  };
}

const override = (g: PreviewGrant, key: string, ctx: EvaluationContext = DE, now = NOW) =>
  previewOverride(g, snapshot, key, ctx, now);

describe("previewOverride", () => {
  const cases: [string, PreviewGrant, string, EvaluationContext, unknown][] = [
    ["in scope", grant({ a: "on" }), "a", DE, true],
    ["a string variant", grant({ theme: "dark" }), "theme", DE, "dark"],
    [
      "a key without a scope covers every flag",
      grant({ other: "on" }, { key: { roles: ["preview"] } }),
      "other",
      DE,
      true,
    ],
    ["out of scope", grant({ other: "on" }), "other", DE, undefined],
    [
      "scope by flag glob",
      grant({ other: "on" }, { key: { roles: ["preview"], scope: ["flag:oth*"] } }),
      "other",
      DE,
      true,
    ],
    ["a flag the token does not name", grant({ a: "on" }), "theme", DE, undefined],
    ["an unknown variant", grant({ a: "maybe" }), "a", DE, undefined],
    ["a variant named like an Object property", grant({ a: "constructor" }), "a", DE, undefined],
    ["an unknown flag", grant({ nope: "on" }), "nope", DE, undefined],
    ["a permission flag", grant({ perm: "on" }, { key: { roles: ["preview"] } }), "perm", DE, undefined],
    ["a flag requiring a permission flag", grant({ "needs-perm": "on" }), "needs-perm", DE, undefined],
    ["a killed flag", grant({ killed: "on" }), "killed", DE, undefined],
    ["a flag requiring a killed flag", grant({ "needs-killed": "on" }), "needs-killed", DE, undefined],
    ["a geo-restricted flag, visitor allowed", grant({ geo: "off" }), "geo", DE, false],
    ["a geo-restricted flag, visitor outside the allow list", grant({ geo: "on" }), "geo", US, undefined],
    [
      "a geo-restricted flag, visitor without geo",
      grant({ geo: "on" }),
      "geo",
      { targetingKey: "u1" },
      undefined,
    ],
    ["through a prerequisite, visitor allowed", grant({ "needs-geo": "on" }), "needs-geo", DE, true],
    ["through a prerequisite, visitor outside", grant({ "needs-geo": "on" }), "needs-geo", US, undefined],
    ["out of schedule, visitor not blocked", grant({ "geo-later": "on" }), "geo-later", DE, true],
    ["out of schedule, visitor blocked", grant({ "geo-later": "on" }), "geo-later", RU, undefined],
    ["bound to this key", grant({ a: "on" }, { sub: "u1" }), "a", DE, true],
    ["bound to another key", grant({ a: "on" }, { sub: "u2" }), "a", DE, undefined],
    [
      "bound, for a visitor without a key",
      grant({ a: "on" }, { sub: "u1" }),
      "a",
      { geo: DE.geo },
      undefined,
    ],
  ];
  it.each(cases)("%s", (_name, g, key, ctx, value) => {
    const r = override(g, key, ctx);
    if (value === undefined) expect(r).toBeUndefined();
    else expect(r).toMatchObject({ key, value, variant: g.flags.get(key), reason: "PREVIEW" });
  });

  it("stops at the token's expiry", () => {
    const g = grant({ a: "on" });
    expect(override(g, "a", DE, g.exp * 1000 - 1)).toBeDefined();
    expect(override(g, "a", DE, g.exp * 1000)).toBeUndefined();
  });

  it("hands out one shared, frozen result per flag and variant", () => {
    const r = override(grant({ theme: "dark" }), "theme");
    expect(override(grant({ theme: "dark" }, { sub: "u1" }), "theme")).toBe(r);
    expect(Object.isFrozen(r)).toBe(true);
    expect(r?.type).toBe("string");
  });
});

describe("applyPreview", () => {
  it("replaces the results it may and counts them", () => {
    const results = evaluateAll(snapshot.compiled, DE, NOW);
    const before = results.slice();
    const n = applyPreview(
      grant({ a: "on", theme: "dark", other: "on", perm: "on" }),
      snapshot,
      results,
      DE,
      NOW,
    );
    expect(n).toBe(2);
    const byKey = Object.fromEntries(results.map((r) => [r.key, r]));
    expect(byKey.a).toMatchObject({ value: true, reason: "PREVIEW" });
    expect(byKey.theme).toMatchObject({ value: "dark", reason: "PREVIEW" });
    expect(byKey.other).toBe(before.find((r) => r.key === "other"));
    expect(byKey.perm).toBe(before.find((r) => r.key === "perm"));
  });
});
