/** Which private keys can sign snapshots: Ed25519 (EdDSA) and P-256 (ES256), nothing else. */
import { describe, expect, it } from "vitest";
import { importSigningKey } from "../../src/snapshot/sign";

async function privateJwk(algorithm: { name: string; namedCurve?: string }) {
  const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid: "k1" };
}

describe("importSigningKey", () => {
  it.each([
    ["Ed25519", { name: "Ed25519" } as const, "EdDSA"],
    ["P-256", { name: "ECDSA", namedCurve: "P-256" }, "ES256"],
  ])("takes %s keys, as %s", async (_what, algorithm, alg) => {
    expect(await importSigningKey(await privateJwk(algorithm))).toMatchObject({ kid: "k1", alg });
  });

  it("refuses a P-384 key by name instead of signing with the wrong algorithm", async () => {
    const jwk = await privateJwk({ name: "ECDSA", namedCurve: "P-384" });
    await expect(importSigningKey(jwk)).rejects.toThrow(
      "key k1 is neither Ed25519 (EdDSA) nor P-256 (ES256)",
    );
  });
});
