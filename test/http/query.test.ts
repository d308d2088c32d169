/** queryPairs: GET /v1/flags reads its query string exactly as URLSearchParams would. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { queryPairs } from "../../src/http/request";

const piece = fc.constantFrom("a", "b", "=", "&", "%", "%41", "%zz", "+", " ", "é", "?", "#", "");
const query = fc.oneof(
  fc.string(),
  fc.array(piece, { maxLength: 12 }).map((parts) => parts.join("")),
);

describe("queryPairs", () => {
  it.each([
    ["", []],
    [
      "targetingKey=u-1&plan=pro",
      [
        ["targetingKey", "u-1"],
        ["plan", "pro"],
      ],
    ],
    [
      "details&&a=&=x&a=2",
      [
        ["details", ""],
        ["a", ""],
        ["", "x"],
        ["a", "2"],
      ],
    ],
    ["k=a=b", [["k", "a=b"]]],
    ["?a=1", [["a", "1"]]],
    [
      "name=J%C3%B6rg+M&x=%zz",
      [
        ["name", "Jörg M"],
        ["x", "%zz"],
      ],
    ],
  ])("reads %j", (q, pairs) => {
    expect(queryPairs(q)).toEqual(pairs);
  });

  it("agrees with URLSearchParams on any query string", () => {
    fc.assert(
      fc.property(query, (q) => {
        expect(queryPairs(q)).toEqual([...new URLSearchParams(q)]);
      }),
      { numRuns: 3000 },
    );
  });
});
