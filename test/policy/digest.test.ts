/**
 * What approvals cover (src/policy/digest.ts): a flag's digest follows everything its answer depends
 * on (its definition, the segments it uses, its prerequisites), and nothing else; its off digest
 * follows only what it serves when disabled.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument, GateDefinition } from "../../src/flags/types";
import {
  canonicalJson,
  DocumentDigests,
  digestSync,
  digestText,
  gateDigest,
  gateId,
  loadHasher,
} from "../../src/policy/digest";
import { base64urlOfHex, SHA256_VECTORS } from "./sha256-vectors";

type Digests = Record<string, { flag: string | null; off: string | null }>;

async function digestsOf(doc: FlagsDocument): Promise<Digests> {
  const d = new DocumentDigests(doc);
  const out: Digests = {};
  for (const key of Object.keys(doc.flags)) out[key] = { flag: await d.flag(key), off: await d.off(key) };
  return out;
}

/** Which flags' definition digests and off digests differ between two documents. */
async function changed(a: FlagsDocument, b: FlagsDocument): Promise<{ flag: string[]; off: string[] }> {
  const [da, db] = await Promise.all([digestsOf(a), digestsOf(b)]);
  const keys = Object.keys(da);
  return {
    flag: keys.filter((k) => da[k]?.flag !== db[k]?.flag),
    off: keys.filter((k) => da[k]?.off !== db[k]?.off),
  };
}

const base: FlagsDocument = {
  flags: {
    beta: {
      rules: [{ id: "testers", when: [{ segment: "testers" }], serve: "on" }],
      fallthrough: "off",
    },
    "not-staff": {
      rules: [{ when: [{ segment: "staff", negate: true }], serve: "on" }],
      fallthrough: "off",
    },
    plain: { variants: { a: "A", b: "B" }, offVariant: "a", fallthrough: "b" },
    parent: { prerequisites: [{ flag: "beta", variants: ["on"] }], fallthrough: "on" },
    grandparent: { prerequisites: [{ flag: "parent", variants: ["on"] }], fallthrough: "on" },
  },
  segments: {
    testers: { included: ["u1"] },
    staff: { rules: [{ when: [{ attribute: "identity.role", op: "in", values: ["staff"] }] }] },
    unused: { included: ["u9"] },
  },
};

const withFlag = (key: string, f: Partial<FlagDefinition> | ((f: FlagDefinition) => FlagDefinition)) => ({
  ...base,
  flags: {
    ...base.flags,
    [key]: typeof f === "function" ? f(base.flags[key] as FlagDefinition) : { ...base.flags[key], ...f },
  } as Record<string, FlagDefinition>,
});
const withSegment = (name: string, s: NonNullable<FlagsDocument["segments"]>[string] | undefined) => {
  const segments = { ...base.segments };
  if (s === undefined) delete segments[name];
  else segments[name] = s;
  return { ...base, segments };
};

describe("a flag's digest follows what its answer depends on", () => {
  // [what, changed document, flags whose digest changes, flags whose off digest changes]
  const rows: [string, FlagsDocument, string[], string[]][] = [
    ["the same document", structuredClone(base), [], []],
    [
      "a segment a flag uses: that flag and its dependents",
      withSegment("testers", { included: ["u1", "u2"] }),
      ["beta", "parent", "grandparent"],
      [],
    ],
    [
      "a segment used negated: that flag only",
      withSegment("staff", { included: ["boss"] }),
      ["not-staff"],
      [],
    ],
    ["a segment no flag uses: nothing", withSegment("unused", { included: [] }), [], []],
    ["a new segment: nothing", withSegment("new", { included: ["x"] }), [], []],
    [
      "a used segment removed: that flag",
      withSegment("testers", undefined),
      ["beta", "parent", "grandparent"],
      [],
    ],
    [
      "a prerequisite: its dependents, transitively",
      withFlag("beta", { fallthrough: "on" }),
      ["beta", "parent", "grandparent"],
      [],
    ],
    [
      "a dependent: not its prerequisites",
      withFlag("grandparent", { fallthrough: "off" }),
      ["grandparent"],
      [],
    ],
    [
      "enabled: false: the definition digest, never the off digest",
      withFlag("plain", { enabled: false }),
      ["plain"],
      [],
    ],
    ["enabled: true written out: the definition digest", withFlag("plain", { enabled: true }), ["plain"], []],
    ["a variant's value: both", withFlag("plain", { variants: { a: "A", b: "Bee" } }), ["plain"], ["plain"]],
    [
      "a variant added: both",
      withFlag("plain", { variants: { a: "A", b: "B", c: "C" } }),
      ["plain"],
      ["plain"],
    ],
    ["offVariant: both", withFlag("plain", { offVariant: "b" }), ["plain"], ["plain"]],
    ["clientVisible: both", withFlag("plain", { clientVisible: true }), ["plain"], ["plain"]],
    [
      "clientVisible false written out: both",
      withFlag("plain", { clientVisible: false }),
      ["plain"],
      ["plain"],
    ],
    ["type: both", withFlag("plain", { type: "string" }), ["plain"], ["plain"]],
    ["the fallthrough: the definition digest only", withFlag("plain", { fallthrough: "a" }), ["plain"], []],
    ["a description: the definition digest only", withFlag("plain", { description: "x" }), ["plain"], []],
    [
      "tags and owner: the definition digest only",
      withFlag("plain", { tags: ["t"], owner: "o" }),
      ["plain"],
      [],
    ],
    ["a target: the definition digest only", withFlag("plain", { targets: { a: ["vip"] } }), ["plain"], []],
    [
      "a rule's values: that flag",
      withFlag("not-staff", (f) => ({
        ...f,
        rules: [{ when: [{ segment: "staff", negate: false }], serve: "on" }],
      })),
      ["not-staff"],
      [],
    ],
    [
      "the flag's key order: nothing (canonical JSON)",
      withFlag("plain", (f) => Object.fromEntries(Object.entries(f).reverse()) as unknown as FlagDefinition),
      [],
      [],
    ],
  ];
  it.each(rows)("%s", async (_what, doc, flag, off) => {
    expect(await changed(base, doc)).toEqual({ flag, off });
  });

  it("a split's written order is its meaning: reordered weights change the digest", async () => {
    const a: FlagsDocument = { flags: { f: { fallthrough: { split: { on: 10, off: 90 } } } } };
    const b: FlagsDocument = { flags: { f: { fallthrough: { split: { off: 90, on: 10 } } } } };
    const c: FlagsDocument = {
      flags: {
        f: {
          fallthrough: {
            split: [
              { variant: "off", weight: 90 },
              { variant: "on", weight: 10 },
            ],
          },
        },
      },
    };
    const [da, db, dc] = await Promise.all([a, b, c].map((d) => new DocumentDigests(d).flag("f")));
    expect(new Set([da, db, dc]).size).toBe(3);
    // ...in rules and progressive steps too.
    const ruled = (split: Record<string, number>): FlagsDocument => ({
      flags: {
        f: {
          rules: [{ when: [], serve: { split } }],
          fallthrough: { split: { on: 1 }, steps: [{ at: "2026-01-01T00:00:00Z", split }] },
        },
      },
    });
    const [r1, r2] = await Promise.all(
      [ruled({ on: 1, off: 1 }), ruled({ off: 1, on: 1 })].map((d) => new DocumentDigests(d).flag("f")),
    );
    expect(r1).not.toBe(r2);
  });

  it("a flag the document does not have digests as null, also when it is an Object.prototype name", async () => {
    const d = new DocumentDigests(base);
    for (const key of ["nope", "constructor", "__proto__", "toString"]) {
      expect(await d.flag(key)).toBeNull();
      expect(await d.off(key)).toBeNull();
    }
  });

  it("a prerequisite the document does not have digests as null inside its dependent", async () => {
    const doc: FlagsDocument = {
      flags: { a: { prerequisites: [{ flag: "gone", variants: ["on"] }], fallthrough: "on" } },
    };
    const other: FlagsDocument = {
      flags: { a: { prerequisites: [{ flag: "gone2", variants: ["on"] }], fallthrough: "on" } },
    };
    expect(await new DocumentDigests(doc).flag("a")).not.toBe(await new DocumentDigests(other).flag("a"));
  });

  it("digests are 43 base64url characters (SHA-256), and memoised", async () => {
    const d = new DocumentDigests(base);
    const first = await d.flag("grandparent");
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await d.flag("grandparent")).toBe(first);
    expect(await new DocumentDigests(structuredClone(base)).flag("grandparent")).toBe(first);
  });

  it("a prerequisite cycle (refused by compile) does not loop", async () => {
    const doc: FlagsDocument = {
      flags: {
        a: { prerequisites: [{ flag: "b", variants: ["on"] }], fallthrough: "on" },
        b: { prerequisites: [{ flag: "a", variants: ["on"] }], fallthrough: "on" },
      },
    };
    expect(await new DocumentDigests(doc).flag("a")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe("shared prerequisites (a diamond)", () => {
  // top -> left -> base, top -> right -> base.
  const diamond: FlagsDocument = {
    flags: {
      top: {
        prerequisites: [
          { flag: "left", variants: ["on"] },
          { flag: "right", variants: ["on"] },
        ],
        fallthrough: "on",
      },
      left: { prerequisites: [{ flag: "base", variants: ["on"] }], fallthrough: "on" },
      right: { prerequisites: [{ flag: "base", variants: ["on"] }], fallthrough: "on" },
      base: { fallthrough: "on" },
    },
  };

  // Each prerequisite chain is walked on its own: a flag reached by two paths is no cycle, and the
  // digest of a document must not depend on the order in which its flags are asked for (manifestOf
  // asks for all, checkCoverage only for those it must check).
  it("a flag's digest does not depend on which flags were digested before", async () => {
    const alone = await new DocumentDigests(diamond).flag("top");
    const d = new DocumentDigests(diamond);
    await d.flag("right");
    const afterRight = await d.flag("top");
    expect(afterRight).toBe(alone);
  });

  it("changing the shared prerequisite changes the digest of the flag on top", async () => {
    const changedBase = { flags: { ...diamond.flags, base: { fallthrough: "off" } } };
    expect(await new DocumentDigests(changedBase).flag("top")).not.toBe(
      await new DocumentDigests(diamond).flag("top"),
    );
  });
});

describe("gates", () => {
  const gate: GateDefinition = {
    id: "checkout",
    pattern: "/checkout/*",
    flag: "pay",
    allow: ["on"],
    deny: { status: 403 },
  };
  it("a gate's digest follows every field, not the key order", async () => {
    const d = await gateDigest(gate);
    expect(
      await gateDigest(Object.fromEntries(Object.entries(gate).reverse()) as unknown as GateDefinition),
    ).toBe(d);
    const variants: GateDefinition[] = [
      { ...gate, pattern: "/checkout/**" },
      { ...gate, allow: ["on", "off"] },
      { ...gate, deny: { status: 404 } },
      { ...gate, host: "shop.example.com" },
      { ...gate, methods: ["POST"] },
      { ...gate, onUnavailable: "allow" },
      { ...gate, id: "checkout2" },
      { ...gate, flag: "pay2" },
    ];
    const all = await Promise.all(variants.map((g) => gateDigest(g)));
    expect(new Set([d, ...all]).size).toBe(variants.length + 1);
  });

  it("a gate's id is its own, else gate-<index>", () => {
    expect(gateId(gate, 3)).toBe("checkout");
    const { id: _id, ...anonymous } = gate;
    expect(gateId(anonymous, 3)).toBe("gate-3");
  });
});

describe("canonicalJson", () => {
  const rows: [string, unknown, string][] = [
    ["sorted keys", { b: 1, a: [2, { d: 1, c: 2 }] }, '{"a":[2,{"c":2,"d":1}],"b":1}'],
    ["undefined fields dropped, undefined items null", { a: undefined, b: [undefined] }, '{"b":[null]}'],
    ["top-level undefined", undefined, "null"],
    ["numbers as JSON writes them", [-0, 1e21, Number.NaN], "[0,1e+21,null]"],
    ["split maps as ordered pairs", { split: { on: 1, off: 2 } }, '{"split":o["on",1,"off",2]}'],
    [
      "split lists as lists",
      { split: [{ weight: 1, variant: "on" }] },
      '{"split":[{"variant":"on","weight":1}]}',
    ],
    [
      "inside a split's values, objects are sorted again",
      { split: { z: { b: 1, a: 2 } } },
      '{"split":o["z",{"a":2,"b":1}]}',
    ],
  ];
  it.each(rows)("%s", (_what, value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  // `split` is order-bearing only as a split; inside a JSON value it is data. Otherwise
  // {"split": {"a": 1}} and {"split": [["a", 1]]} would share a digest, and an approval of one
  // value a flag can serve would cover the other.
  it("two different variant values never share a digest (a variant value with its own `split` key)", async () => {
    const asMap = { flags: { f: { variants: { on: { split: { a: 1 } }, off: {} }, fallthrough: "on" } } };
    const asPairs = { flags: { f: { variants: { on: { split: [["a", 1]] }, off: {} }, fallthrough: "on" } } };
    const [m, p] = [
      new DocumentDigests(asMap as FlagsDocument),
      new DocumentDigests(asPairs as FlagsDocument),
    ];
    expect(await m.flag("f")).not.toBe(await p.flag("f"));
    expect(await m.off("f")).not.toBe(await p.off("f"));
  });
});

describe("the two SHA-256 paths", () => {
  beforeAll(loadHasher);

  it.each(SHA256_VECTORS)("digestSync gives the known answer: %s", (_what, text, hex) => {
    expect(digestSync(text)).toBe(base64urlOfHex(hex));
  });

  it.each([
    ["empty", ""],
    ["ascii", "edgeflags"],
    ["non-ASCII", "Größe → 大きさ 🚀"],
    ["a long text", "x".repeat(100_000)],
    // Node's UTF-8 and TextEncoder (the worker's) both write a lone surrogate as U+FFFD.
    ["lone surrogates", "a\ud800b\udc00"],
  ])("digestSync (node:crypto) and digestText (WebCrypto) agree: %s", async (_what, text) => {
    expect(digestSync(text)).toBe(await digestText(text));
    expect(digestSync(text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
