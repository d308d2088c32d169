/** Error bodies repeat a client's flag key only up to a bound. */
import { describe, expect, it } from "vitest";
import { MAX_NAME_LENGTH } from "../../src/flags/defaults";
import { checkShape } from "../../src/flags/shape.generated";
import { echoKey, MAX_ECHOED_KEY } from "../../src/http/errors";

describe("echoKey", () => {
  it.each([
    ["a short key, whole", "new-checkout", "new-checkout"],
    ["a key of the limit, whole", "k".repeat(MAX_ECHOED_KEY), "k".repeat(MAX_ECHOED_KEY)],
    ["a longer key, cut with an ellipsis", "k".repeat(30_000), `${"k".repeat(MAX_ECHOED_KEY - 1)}…`],
    // The cut would fall between the halves of "😀": the whole pair goes.
    [
      "never half a surrogate pair",
      `${"k".repeat(MAX_ECHOED_KEY - 2)}😀tail`,
      `${"k".repeat(MAX_ECHOED_KEY - 2)}…`,
    ],
  ])("%s", (_, key, shown) => {
    expect(echoKey(key)).toBe(shown);
    expect(echoKey(key).length).toBeLessThanOrEqual(MAX_ECHOED_KEY);
  });
});

describe("MAX_NAME_LENGTH", () => {
  it("is the longest flag name the worker's shape check accepts", () => {
    const doc = (key: string) => ({ flags: { [key]: { fallthrough: "on" } } });
    expect(checkShape(doc("k".repeat(MAX_NAME_LENGTH)))).toBeUndefined();
    expect(checkShape(doc("k".repeat(MAX_NAME_LENGTH + 1)))).toBeDefined();
  });
});
