/**
 * The approvals' digest inside workerd (node:crypto under nodejs_compat): the same known answers as in
 * Node, and the same as WebCrypto's, so what the publisher digests is what every location recomputes.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { digestSync, digestText, loadHasher } from "../../src/policy/digest";
import { base64urlOfHex, SHA256_VECTORS } from "../policy/sha256-vectors";

describe("SHA-256 in workerd", () => {
  beforeAll(loadHasher);

  it.each(SHA256_VECTORS)("digestSync gives the known answer: %s", async (_what, text, hex) => {
    expect(digestSync(text)).toBe(base64urlOfHex(hex));
    expect(await digestText(text)).toBe(base64urlOfHex(hex));
  });

  it("hashes a lone surrogate as U+FFFD, as TextEncoder does", async () => {
    for (const text of ["\ud800", "a\udc00b", "🚀\ud83d"]) {
      expect(digestSync(text)).toBe(await digestText(text));
    }
  });
});
