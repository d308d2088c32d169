/**
 * The readable diff: paths (`rules[eu-only].serve.split.on`), values before and after, the text and
 * colour people see, and the bounded summary signed into the audit block (old ones stay readable).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { parseSince, touches } from "../../src/publisher/commands/history";
import { AUDIT_LIMITS, diffDocuments, diffFlags, isEmpty, summarize } from "../../src/publisher/diff";
import { trustedKeys } from "../../src/publisher/keys";
import {
  changeLines,
  inlineValue,
  limitLines,
  type Paint,
  renderDiff,
  summaryView,
} from "../../src/publisher/render-diff";
import { type ChangeSummary, type FieldChange, snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";

const doc = (f: FlagDefinition): FlagsDocument => ({ flags: { f } });
const changesOf = (before: FlagDefinition, after: FlagDefinition) =>
  diffFlags(doc(before), doc(after)).flags.changed[0]?.changes ?? [];
const euOnly = (on: number, extra: object = {}) => ({
  id: "eu-only",
  when: [{ attribute: "geo.continent", op: "in" as const, values: ["EU"] }],
  serve: { split: { on, off: 100 - on } },
  ...extra,
});
const us = { id: "us", when: [], serve: "on" };

describe("diffFlags: one change per path, with the values before and after", () => {
  it.each<[string, FlagDefinition, FlagDefinition, FieldChange[]]>([
    [
      "a rule's split weight, the rule by id and the weight by variant",
      { rules: [euOnly(10)], fallthrough: "off" },
      { rules: [euOnly(20)], fallthrough: "off" },
      [
        { path: "rules[eu-only].serve.split.on", before: 10, after: 20 },
        { path: "rules[eu-only].serve.split.off", before: 90, after: 80 },
      ],
    ],
    [
      "a list split against a map split, by variant",
      { fallthrough: { split: { on: 10, off: 90 } } },
      {
        fallthrough: {
          split: [
            { variant: "on", weight: 20 },
            { variant: "off", weight: 80 },
          ],
        },
      },
      [
        { path: "fallthrough.split.on", before: 10, after: 20 },
        { path: "fallthrough.split.off", before: 90, after: 80 },
      ],
    ],
    [
      "split variants in another order",
      { fallthrough: { split: { on: 1, off: 1 } } },
      { fallthrough: { split: { off: 1, on: 1 } } },
      [{ path: "fallthrough.split (order)", before: ["on", "off"], after: ["off", "on"] }],
    ],
    [
      "rules in another order, and one added",
      { rules: [euOnly(10), us], fallthrough: "off" },
      { rules: [us, euOnly(10), { id: "beta", when: [], serve: "on" }], fallthrough: "off" },
      [
        { path: "rules[beta]", after: { id: "beta", when: [], serve: "on" } },
        { path: "rules (order)", before: ["eu-only", "us"], after: ["us", "eu-only", "beta"] },
      ],
    ],
    [
      "rules without ids, by index; a list of plain values as one value",
      {
        rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro"] }], serve: "on" }],
        fallthrough: "off",
      },
      {
        rules: [{ when: [{ attribute: "plan", op: "in", values: ["pro", "team"] }], serve: "on" }],
        fallthrough: "off",
      },
      [{ path: "rules[0].when[0].values", before: ["pro"], after: ["pro", "team"] }],
    ],
    [
      "a kill: `enabled` unset is true",
      { fallthrough: "on" },
      { fallthrough: "on", enabled: false },
      [{ path: "enabled", before: true, after: false }],
    ],
    [
      "inside a variant's JSON value, and keys that need quoting",
      { variants: { on: { color: "red" }, "v.2": 1 }, fallthrough: "on" },
      { variants: { on: { color: "blue" }, "v.2": 2 }, fallthrough: "on" },
      [
        { path: "variants.on.color", before: "red", after: "blue" },
        { path: 'variants["v.2"]', before: 1, after: 2 },
      ],
    ],
    [
      "a field set and one unset",
      { owner: "web", fallthrough: "on" },
      { ticket: "T-1", fallthrough: "on" },
      [
        { path: "ticket", after: "T-1" },
        { path: "owner", before: "web" },
      ],
    ],
  ])("%s", (_what, before, after, expected) => {
    expect(changesOf(before, after)).toEqual(expected);
  });

  it.each<[string, FlagDefinition, FlagDefinition]>([
    ["enabled: true written out", { fallthrough: "on" }, { fallthrough: "on", enabled: true }],
    [
      "a map split and a list in the same order",
      { fallthrough: { split: { on: 1, off: 1 } } },
      {
        fallthrough: {
          split: [
            { variant: "on", weight: 1 },
            { variant: "off", weight: 1 },
          ],
        },
      },
    ],
    [
      "map keys in another order",
      { owner: "a", fallthrough: "on", tags: ["x"] },
      { tags: ["x"], fallthrough: "on", owner: "a" },
    ],
  ])("no change for %s", (_what, before, after) => {
    expect(diffFlags(doc(before), doc(after)).flags.changed).toEqual([]);
  });

  it("covers segments and gates (by id, default gate-<index>), and flags added and removed", () => {
    const gate = { pattern: "/x/*", flag: "f", allow: ["on"], deny: { status: 451 } };
    const before: FlagsDocument = {
      flags: { f: { fallthrough: "on" }, old: { fallthrough: "on" } },
      segments: { staff: { included: ["a"] } },
      gates: [gate],
    };
    const after: FlagsDocument = {
      flags: { f: { fallthrough: "on" }, new: { fallthrough: "on" } },
      segments: { staff: { included: ["a", "b"] } },
      gates: [
        { ...gate, deny: { status: 403 } },
        { ...gate, id: "admin", pattern: "/admin/*" },
      ],
    };
    const d = diffFlags(before, after);
    expect(d.flags).toEqual({ added: ["new"], removed: ["old"], changed: [] });
    expect(d.segments.changed).toEqual([
      {
        key: "staff",
        fields: ["included"],
        changes: [{ path: "included", before: ["a"], after: ["a", "b"] }],
      },
    ]);
    expect(d.gates).toMatchObject({
      added: ["admin"],
      removed: [],
      changed: [{ key: "gate-0", changes: [{ path: "deny.status", before: 451, after: 403 }] }],
    });
    // A gate-only change is a change (diff --exit-code, publish summaries).
    const gateOnly = diffDocuments(before, { ...before, gates: [{ ...gate, deny: { status: 403 } }] });
    expect(isEmpty(gateOnly)).toBe(false);
    expect(gateOnly.text).toBe("1 gate changed");
  });
});

describe("renderDiff: what people read", () => {
  const before: FlagsDocument = {
    flags: {
      "new-checkout": { rules: [euOnly(10)], fallthrough: "off", description: "Old" },
      gone: { fallthrough: "on" },
    },
  };
  const after: FlagsDocument = {
    flags: {
      "new-checkout": {
        rules: [euOnly(20), { id: "beta", when: [{ segment: "staff" }], serve: "on" }],
        fallthrough: "off",
        description: "Now with\ntwo lines",
      },
      extra: { fallthrough: "on" },
    },
  };

  it("prints + / - / ~ with one line per change, blocks for what does not fit on one", () => {
    expect(renderDiff(diffFlags(before, after)).join("\n")).toBe(
      [
        "+ extra",
        "- gone",
        "~ new-checkout",
        "    rules[eu-only].serve.split.on: 10 -> 20",
        "    rules[eu-only].serve.split.off: 90 -> 80",
        "    rules[beta]: added",
        "      + id: beta",
        "      + when:",
        "      +   - segment: staff",
        "      + serve: on",
        "    description:",
        "      - Old",
        "      + |-",
        "      + Now with",
        "      + two lines",
      ].join("\n"),
    );
  });

  it("colours through the given paint only", () => {
    const tag: Paint = (style, text) => `<${style}>${text}</${style}>`;
    const lines = renderDiff(diffFlags(before, after), tag);
    expect(lines).toContain("<green>+ extra</green>");
    expect(lines).toContain("<yellow>~ new-checkout</yellow>");
    expect(lines).toContain("    rules[eu-only].serve.split.on: <red>10</red> -> <green>20</green>");
    expect(renderDiff(diffFlags(before, after)).join("\n")).not.toContain("\u001b[");
  });

  it.each<[unknown, string | undefined]>([
    ["Hello", "Hello"],
    ["true", '"true"'],
    ["", '""'],
    [10, "10"],
    [null, "null"],
    [undefined, "(unset)"],
    [["DE", "FR"], "[DE, FR]"],
    [{ a: 1 }, "{a: 1}"],
    ["x".repeat(61), undefined],
    ["two\nlines", undefined],
  ])("inlineValue(%j) is %j", (value, expected) => {
    expect(inlineValue(value)).toBe(expected);
  });

  it("shows a value cut in the audit block as its start, and caps long reports", () => {
    const cut = { path: "rules[x]", before: '{"when":… (900 chars)', after: 1, cut: ["before" as const] };
    expect(changeLines(cut)).toEqual(['rules[x]: {"when":… (900 chars) -> 1']);
    expect(limitLines(["a", "b", "c"], 2, (n) => `... ${n} more`)).toEqual(["a", "b", "... 1 more"]);
  });
});

describe("the signed change summary", () => {
  it("records each change with its direction; the one-line text says it when short", () => {
    const killed = diffDocuments(doc({ fallthrough: "on" }), doc({ fallthrough: "on", enabled: false }));
    expect(killed).toEqual({
      added: [],
      removed: [],
      changed: [
        { flag: "f", fields: ["enabled"], changes: [{ path: "enabled", before: true, after: false }] },
      ],
      text: "1 changed (f: enabled true -> false)",
    });
    const back = diffDocuments(doc({ fallthrough: "on", enabled: false }), doc({ fallthrough: "on" }));
    expect(back.text).toBe("1 changed (f: enabled false -> true)");
  });

  it("cuts long values and stops recording past its size bound, counting what it left out", () => {
    const long = "x".repeat(AUDIT_LIMITS.valueChars + 50);
    const one = diffDocuments(
      doc({ description: "a", fallthrough: "on" }),
      doc({ description: long, fallthrough: "on" }),
    );
    expect(one.changed[0]?.changes).toEqual([
      {
        path: "description",
        before: "a",
        after: `${JSON.stringify(long).slice(0, AUDIT_LIMITS.previewChars)}… (${long.length + 2} chars)`,
        cut: ["after"],
      },
    ]);
    const variants = (v: string) =>
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`v${i}`, `${v}-${"y".repeat(150)}`]));
    const big = summarize(
      diffFlags(
        doc({ variants: variants("a"), fallthrough: "v0" }),
        doc({ variants: variants("b"), fallthrough: "v0" }),
      ),
    );
    const entry = big.changed[0]!;
    expect(entry.changes!.length + entry.omitted!).toBe(200);
    expect(entry.omitted).toBeGreaterThan(0);
    expect(JSON.stringify(big).length).toBeLessThan(AUDIT_LIMITS.totalChars + 2000);
    expect(renderDiff(summaryView(big)).at(-1)).toBe(
      `    ... ${entry.omitted} more change(s), too many to record`,
    );
  });

  it("renders a summary from before directions were recorded as it was", () => {
    const legacy: ChangeSummary = {
      added: ["beta"],
      removed: [],
      changed: [{ flag: "checkout", fields: ["enabled", "rules"] }],
      segments: { added: [], removed: [], changed: ["staff"] },
      text: "1 added (beta), 1 changed (checkout: enabled/rules), 1 segment changed",
    };
    expect(renderDiff(summaryView(legacy))).toEqual([
      "+ beta",
      "~ checkout (enabled, rules)",
      "~ segment staff",
    ]);
  });

  const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
  const signed = async (changes: unknown) => {
    const signer = await importSigningKey(keys.primary.private);
    const payload = snapshotPayload(doc({ fallthrough: "on" }), {
      environment: "t",
      version: 1,
      audit: { actor: "ada", changes: changes as ChangeSummary },
    });
    const ring = await trustedKeys(undefined, keys.primary.private);
    return verifySnapshot(await signSnapshot(payload, signer), {
      keys: ring,
      environment: "t",
      now: Date.now(),
    });
  };

  it("verifies with the worker's own check, old summaries and new; refuses malformed directions", async () => {
    const summary = diffDocuments(doc({ fallthrough: "on" }), doc({ fallthrough: "off" }));
    await expect(signed(summary)).resolves.toMatchObject({ payload: { audit: { changes: summary } } });
    const legacy = { added: [], removed: [], changed: [{ flag: "f", fields: ["enabled"] }], text: "x" };
    await expect(signed(legacy)).resolves.toBeDefined();
    const bad = { ...legacy, changed: [{ flag: "f", fields: ["enabled"], changes: [{ path: 1 }] }] };
    await expect(signed(bad)).rejects.toMatchObject({ code: "ERR_SNAPSHOT_PAYLOAD" });
    const badCut = { ...legacy, changed: [{ flag: "f", fields: [], changes: [{ path: "a", cut: ["x"] }] }] };
    await expect(signed(badCut)).rejects.toMatchObject({ code: "ERR_SNAPSHOT_PAYLOAD" });
  });
});

describe("history filters", () => {
  const now = Date.parse("2026-11-10T12:00:00Z");
  it.each<[string, string]>([
    ["7d", "2026-11-03T12:00:00.000Z"],
    ["12h", "2026-11-10T00:00:00.000Z"],
    ["90m", "2026-11-10T10:30:00.000Z"],
    ["2w", "2026-10-27T12:00:00.000Z"],
    ["2026-11-01", "2026-11-01T00:00:00.000Z"],
    ["2026-11-01T08:00:00Z", "2026-11-01T08:00:00.000Z"],
  ])("--since %s is %s", (text, iso) => {
    expect(new Date(parseSince(text, now)).toISOString()).toBe(iso);
  });

  it.each(["", "7", "yesterday", "7y", "2026-13-45"])("--since %j is a usage error", (text) => {
    expect(() => parseSince(text, now)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it("--flag matches flags added, removed or changed", () => {
    const c: ChangeSummary = { added: ["a"], removed: ["r"], changed: [{ flag: "c", fields: [] }], text: "" };
    expect(["a", "r", "c", "x"].map((f) => touches(c, f))).toEqual([true, true, true, false]);
    expect(touches(null, "a")).toBe(false);
  });
});
