/**
 * Split order inside workerd: the worker JSON.parses the signed payload, which reorders integer-like
 * keys of a map, so a split written `{ "10": 1, "2": 1 }` travels as a list and is served in the
 * order written; a map from an older snapshot is still served as it always was.
 */
import { describe, expect, it } from "vitest";
import { assign, cumulativeWeights } from "../../src/eval/bucket";
import type { FlagsDocument } from "../../src/flags/types";
import { harness, ofrepInit, publishToKv, snapshot } from "./helpers";

const USERS = Array.from({ length: 40 }, (_, i) => `user-${i}`);

function reference(key: string, order: string[]): string {
  return order[assign("f", key, cumulativeWeights(order.map(() => 1)))]!;
}

async function served(environment: string, flags: FlagsDocument): Promise<string[]> {
  await publishToKv(await snapshot({ environment, version: 1, flags }), environment);
  const h = harness({ EDGEFLAGS_ENV: environment });
  const variants: string[] = [];
  for (const key of USERS) {
    const res = await h.fetch("/ofrep/v1/evaluate/flags/f", ofrepInit({ targetingKey: key }));
    variants.push(((await res.json()) as { variant: string }).variant);
  }
  return variants;
}

describe("the worker serves splits in the order written", () => {
  it('a list split, as the publisher writes { "10": 1, "2": 1 }', async () => {
    const flags: FlagsDocument = {
      flags: {
        f: {
          clientVisible: true,
          variants: { "10": "ten", "2": "two" },
          offVariant: "2",
          fallthrough: {
            split: [
              { variant: "10", weight: 1 },
              { variant: "2", weight: 1 },
            ],
          },
        },
      },
    };
    expect(await served("order-list", flags)).toEqual(USERS.map((k) => reference(k, ["10", "2"])));
  });

  it("a map split from an older snapshot, in the key order it was always served in", async () => {
    const flags = JSON.parse(
      '{"flags":{"f":{"clientVisible":true,"variants":{"10":"ten","2":"two"},"offVariant":"2","fallthrough":{"split":{"10":1,"2":1}}}}}',
    ) as FlagsDocument;
    expect(await served("order-map", flags)).toEqual(USERS.map((k) => reference(k, ["2", "10"])));
  });
});
