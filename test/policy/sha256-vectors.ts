/**
 * SHA-256 known answers (FIPS 180-2, appendix B), for the approvals' digest in Node and in workerd:
 * the publisher and every edge location must agree byte for byte.
 */
import { encode } from "../../src/snapshot/base64url";

export const SHA256_VECTORS: [string, string, string][] = [
  ["empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "two blocks",
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [
    "a million a's",
    "a".repeat(1_000_000),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  ],
];

/** The digest's written form (base64url, no padding) of a hex SHA-256. */
export function base64urlOfHex(hex: string): string {
  return encode(Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16)));
}
