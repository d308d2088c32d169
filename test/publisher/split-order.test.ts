/**
 * The publisher and split order: `diff` reports a reordered split (it moves users) but not a change of
 * form alone, and what `kill` and `rollback` re-sign from a live snapshot keeps the order it had.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CompiledFlags } from "../../src/eval/index";
import { parseFlagsFile } from "../../src/flags/parse";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { diffDocuments } from "../../src/publisher/diff";
import { trustedKeys } from "../../src/publisher/keys";
import { buildSnapshot, verifyReadBack } from "../../src/publisher/snapshot";
import { importSigningKey } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));
const key = { jwk: keys.primary.private, signer: await importSigningKey(keys.primary.private) };
const ring = await trustedKeys(undefined, keys.primary.private);
const audit = { actor: "test", changes: { added: [], removed: [], changed: [], text: "" } };

const doc = (f: FlagDefinition): FlagsDocument => ({ flags: { f } });
const changed = (before: FlagDefinition, after: FlagDefinition) =>
  diffDocuments(doc(before), doc(after)).changed.map((c) => c.fields);
const entries = (...names: string[]) => names.map((variant) => ({ variant, weight: 1 }));

describe("diff and split order", () => {
  it.each<[string, FlagDefinition, FlagDefinition, string[][]]>([
    [
      "a map split in another order",
      { fallthrough: { split: { on: 1, off: 1 } } },
      { fallthrough: { split: { off: 1, on: 1 } } },
      [["fallthrough"]],
    ],
    [
      "a list split in another order, in a rule",
      { rules: [{ when: [], serve: { split: entries("on", "off") } }], fallthrough: "on" },
      { rules: [{ when: [], serve: { split: entries("off", "on") } }], fallthrough: "on" },
      [["rules"]],
    ],
    [
      "a rollout step in another order",
      { fallthrough: { split: { on: 1 }, steps: [{ at: "2030-01-01", split: { on: 1, off: 1 } }] } },
      { fallthrough: { split: { on: 1 }, steps: [{ at: "2030-01-01", split: entries("off", "on") }] } },
      [["fallthrough"]],
    ],
    [
      "an old snapshot's reordered map against the file's written order",
      JSON.parse('{"variants":{"10":1,"2":2},"offVariant":"2","fallthrough":{"split":{"10":1,"2":1}}}'),
      { variants: { "10": 1, "2": 2 }, offVariant: "2", fallthrough: { split: entries("10", "2") } },
      [["fallthrough"]],
    ],
  ])("counts %s as a change", (_what, before, after, expected) => {
    expect(changed(before, after)).toEqual(expected);
  });

  it.each<[string, FlagDefinition, FlagDefinition]>([
    [
      "a map and a list in the same order",
      { fallthrough: { split: { on: 1, off: 1 } } },
      { fallthrough: { split: entries("on", "off") } },
    ],
    [
      "other fields of a split in another key order",
      { fallthrough: { split: { on: 1, off: 1 }, by: "org", salt: "s" } },
      { fallthrough: { salt: "s", by: "org", split: { on: 1, off: 1 } } },
    ],
  ])("does not count %s as a change", (_what, before, after) => {
    expect(changed(before, after)).toEqual([]);
  });
});

describe("kill and rollback re-sign a live snapshot's splits in their order", () => {
  const order = (c: CompiledFlags) => c.byKey.get("f")!.fallthroughSplit!.base.results.map((r) => r.variant);

  it("keeps a list split through read back, a kill's edit and signing again", async () => {
    const text =
      'flags:\n  f:\n    variants: { "10": a, "2": b, "0": c }\n    offVariant: "0"\n    fallthrough: { split: { "10": 1, "2": 1, "0": 1 } }\n';
    const flags = parseFlagsFile(text, "f.yaml").document!;
    const now = Date.now();
    const live = await buildSnapshot({
      flags,
      environment: "t",
      version: 1,
      sourceDigest: "sha256:x",
      audit,
      key,
      now,
    });
    const read = await verifyReadBack(live.jws, ring, "t");
    // What `kill` publishes: the live flags with one flag disabled; `rollback` publishes them as read.
    const killed = {
      ...read.flags,
      flags: { ...read.flags.flags, g: { fallthrough: "on", enabled: false } },
    };
    for (const next of [killed, read.flags]) {
      const { jws } = await buildSnapshot({
        flags: next,
        environment: "t",
        version: 2,
        sourceDigest: "sha256:x",
        audit,
        key,
        now,
      });
      const { compiled } = await verifySnapshot(jws, { keys: ring, environment: "t", now });
      expect(order(compiled)).toEqual(["10", "2", "0"]);
    }
  });
});
