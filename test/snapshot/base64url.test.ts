/**
 * base64url (src/snapshot/base64url.ts) on Node 20's fallback path (atob / btoa): the same text as
 * Node's own base64url, both ways, and a refusal of what is not base64url. workerd's native path runs
 * under every worker test that reads a JWS.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/snapshot/base64url";

describe("base64url", () => {
  it("encodes bytes as Node's base64url does, and decodes them back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encode(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
        expect(decode(text)).toEqual(bytes);
      }),
    );
  });

  it("encodes a string as its UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(encode(s)).toBe(Buffer.from(s, "utf8").toString("base64url"));
      }),
    );
  });

  it("encodes more than one chunk of bytes", () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
    expect(encode(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
  });

  it.each([
    ["plain base64's +", "a+b/"],
    ["a character outside the alphabet", "ab$d"],
    ["an impossible length", "abcde"],
  ])("refuses %s", (_what, text) => {
    expect(() => decode(text)).toThrow();
  });
});
