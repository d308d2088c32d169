/** Snapshot trust, inside workerd: every reason to refuse a snapshot has its own stable code. */
import { base64url, CompactSign, FlattenedSign } from "jose";
import { describe, expect, it } from "vitest";
import { SnapshotError, type SnapshotErrorCode } from "../../src/snapshot/errors";
import { SNAPSHOT_TYP } from "../../src/snapshot/format";
import { loadKeyRing } from "../../src/snapshot/keys";
import { type VerifyOptions, verifySnapshot } from "../../src/snapshot/verify";
import { ENVIRONMENT, fixtureKeys, payload, signer, snapshot } from "./helpers";

const ring = await loadKeyRing({
  keys: [fixtureKeys.primary.public, fixtureKeys.rotated.public, fixtureKeys.ec.public],
});
const base: VerifyOptions = { keys: ring, environment: ENVIRONMENT, now: Date.now() };
const enc = new TextEncoder();

async function codeOf(jws: string, options: Partial<VerifyOptions> = {}): Promise<SnapshotErrorCode | "ok"> {
  try {
    await verifySnapshot(jws, { ...base, ...options });
    return "ok";
  } catch (err) {
    if (err instanceof SnapshotError) return err.code;
    throw err;
  }
}

async function signRaw(header: Record<string, unknown>, body: Uint8Array, key: CryptoKey | Uint8Array) {
  return new CompactSign(body).setProtectedHeader(header as never).sign(key);
}

describe("verifySnapshot accepts", () => {
  it.each(["primary", "rotated", "ec"] as const)("a snapshot signed by the trusted %s key", async (name) => {
    const verified = await verifySnapshot(await snapshot({ version: 7 }, name), base);
    expect(verified.payload.version).toBe(7);
    expect(verified.kid).toBe(fixtureKeys[name].public.kid);
    expect(verified.compiled.has("new-checkout")).toBe(true);
  });

  it("an equal version when not asked for strictly newer (a re-read of the same snapshot)", async () => {
    expect(await codeOf(await snapshot({ version: 5 }), { minVersion: 5 })).toBe("ok");
  });
});

describe("verifySnapshot refuses", () => {
  const primary = () => signer("primary");
  const cases: [string, () => Promise<string>, Partial<VerifyOptions>, SnapshotErrorCode][] = [
    ["a string that is not a JWS", async () => "not-a-jws", {}, "ERR_SNAPSHOT_MALFORMED"],
    [
      "a JWS with a header that is not JSON",
      async () => `${base64url.encode("{nope")}.e30.sig`,
      {},
      "ERR_SNAPSHOT_MALFORMED",
    ],
    [
      "alg none",
      async () => {
        const h = base64url.encode(
          JSON.stringify({ alg: "none", typ: SNAPSHOT_TYP, kid: fixtureKeys.primary.public.kid }),
        );
        return `${h}.${base64url.encode(JSON.stringify(payload()))}.`;
      },
      {},
      "ERR_SNAPSHOT_ALG",
    ],
    [
      "a disallowed algorithm (HS256 with the public key's bytes as secret)",
      async () =>
        signRaw(
          { alg: "HS256", typ: SNAPSHOT_TYP, kid: fixtureKeys.primary.public.kid },
          enc.encode(JSON.stringify(payload())),
          enc.encode(fixtureKeys.primary.public.x as string),
        ),
      {},
      "ERR_SNAPSHOT_ALG",
    ],
    [
      "a wrong typ",
      async () => {
        const s = await primary();
        return signRaw({ alg: s.alg, kid: s.kid, typ: "JWT" }, enc.encode(JSON.stringify(payload())), s.key);
      },
      {},
      "ERR_SNAPSHOT_TYP",
    ],
    ["an unknown kid (untrusted key)", () => snapshot({}, "untrusted"), {}, "ERR_SNAPSHOT_KID_UNKNOWN"],
    [
      "a key used with the other algorithm (EC kid, EdDSA header)",
      async () => {
        const s = await primary();
        return signRaw(
          { alg: "EdDSA", kid: fixtureKeys.ec.public.kid, typ: SNAPSHOT_TYP },
          enc.encode("{}"),
          s.key,
        );
      },
      {},
      "ERR_SNAPSHOT_ALG",
    ],
    [
      "a bad signature (payload swapped after signing)",
      async () => {
        const [h, , sig] = (await snapshot({ version: 1 })).split(".");
        return `${h}.${base64url.encode(JSON.stringify(payload({ version: 999 })))}.${sig}`;
      },
      {},
      "ERR_SNAPSHOT_SIGNATURE",
    ],
    [
      "a trusted kid whose signature was made by another key",
      async () => {
        const other = await signer("untrusted");
        return signRaw(
          { alg: "EdDSA", kid: fixtureKeys.primary.public.kid, typ: SNAPSHOT_TYP },
          enc.encode(JSON.stringify(payload())),
          other.key,
        );
      },
      {},
      "ERR_SNAPSHOT_SIGNATURE",
    ],
    [
      "a payload that is not JSON",
      async () => {
        const s = await primary();
        return signRaw({ alg: s.alg, kid: s.kid, typ: SNAPSHOT_TYP }, enc.encode("hello"), s.key);
      },
      {},
      "ERR_SNAPSHOT_PAYLOAD",
    ],
    ["an unknown payload format", () => snapshot({ format: 2 as 1 }), {}, "ERR_SNAPSHOT_PAYLOAD"],
    [
      "a version that is not a positive integer",
      () => snapshot({ version: 1.5 }),
      {},
      "ERR_SNAPSHOT_PAYLOAD",
    ],
    ["another environment", () => snapshot({ environment: "production" }), {}, "ERR_SNAPSHOT_ENV"],
    ["an older version", () => snapshot({ version: 3 }), { minVersion: 4 }, "ERR_SNAPSHOT_ROLLBACK"],
    [
      "an equal version when strictly newer is required",
      () => snapshot({ version: 4 }),
      { minVersion: 4, strictlyNewer: true },
      "ERR_SNAPSHOT_ROLLBACK",
    ],
    [
      "an expired snapshot",
      () => snapshot({ expiresAt: new Date(Date.now() - 1000).toISOString() }),
      {},
      "ERR_SNAPSHOT_EXPIRED",
    ],
    [
      "flags that fail the schema",
      () => snapshot({ flags: { flags: { broken: { fallthrough: "no-such-variant" } } } }),
      {},
      "ERR_SNAPSHOT_SCHEMA",
    ],
    [
      "flags that are not a flags document",
      () => snapshot({ flags: { flags: { x: { fallthrough: 42 } } } as never }),
      {},
      "ERR_SNAPSHOT_SCHEMA",
    ],
    [
      "flags with a prerequisite cycle",
      () =>
        snapshot({
          flags: {
            flags: {
              a: { prerequisites: [{ flag: "b", variants: ["on"] }], fallthrough: "on" },
              b: { prerequisites: [{ flag: "a", variants: ["on"] }], fallthrough: "on" },
            },
          },
        }),
      {},
      "ERR_SNAPSHOT_SCHEMA",
    ],
    [
      "a gate whose pattern does not compile",
      () =>
        snapshot({
          flags: {
            flags: { a: { fallthrough: "on" } },
            gates: [{ pattern: "/shop/(", flag: "a", allow: ["on"], deny: { status: 403 } }],
          },
        }),
      {},
      "ERR_SNAPSHOT_SCHEMA",
    ],
    [
      "a gate on a flag the snapshot does not have",
      () =>
        snapshot({
          flags: {
            flags: { a: { fallthrough: "on" } },
            gates: [{ pattern: "/shop/*", flag: "b", allow: ["on"], deny: { status: 403 } }],
          },
        }),
      {},
      "ERR_SNAPSHOT_SCHEMA",
    ],
    ["a snapshot over the size limit", () => snapshot(), { maxBytes: 100 }, "ERR_SNAPSHOT_TOO_LARGE"],
    [
      "a header that is JSON but not an object",
      async () => `${base64url.encode("[1]")}.e30.sig`,
      {},
      "ERR_SNAPSHOT_MALFORMED",
    ],
    ["four segments", async () => `${await snapshot()}.x`, {}, "ERR_SNAPSHOT_MALFORMED"],
    [
      "a header with critical extensions, though its signature verifies",
      async () => {
        const s = await primary();
        return signRaw(
          { alg: s.alg, kid: s.kid, typ: SNAPSHOT_TYP, crit: ["b64"], b64: true },
          enc.encode(JSON.stringify(payload())),
          s.key,
        );
      },
      {},
      "ERR_SNAPSHOT_MALFORMED",
    ],
    [
      "an unencoded payload (RFC 7797, b64: false)",
      async () => {
        const s = await primary();
        const jws = await new FlattenedSign(enc.encode('{"format":1}'))
          .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: SNAPSHOT_TYP, crit: ["b64"], b64: false })
          .sign(s.key);
        return `${jws.protected}.${jws.payload}.${jws.signature}`;
      },
      {},
      "ERR_SNAPSHOT_MALFORMED",
    ],
    [
      "a signature that is not base64url",
      async () => {
        const [h, p] = (await snapshot()).split(".");
        return `${h}.${p}.!!not-base64!!`;
      },
      {},
      "ERR_SNAPSHOT_SIGNATURE",
    ],
    [
      "an EC signature in DER rather than JWS's r || s",
      async () => {
        const [h, p, sig] = (await snapshot({}, "ec")).split(".");
        const raw = base64url.decode(sig!);
        const der = (x: Uint8Array) => [0x02, x.length + 1, 0, ...x];
        const body = [...der(raw.slice(0, 32)), ...der(raw.slice(32))];
        return `${h}.${p}.${base64url.encode(new Uint8Array([0x30, body.length, ...body]))}`;
      },
      {},
      "ERR_SNAPSHOT_SIGNATURE",
    ],
    [
      "a payload segment that is not base64url, signed by the trusted key",
      async () => {
        const s = await primary();
        const h = base64url.encode(JSON.stringify({ alg: s.alg, kid: s.kid, typ: SNAPSHOT_TYP }));
        const input = enc.encode(`${h}.not*base64`);
        const sig = await crypto.subtle.sign("Ed25519", s.key as CryptoKey, input);
        return `${h}.not*base64.${base64url.encode(new Uint8Array(sig))}`;
      },
      {},
      "ERR_SNAPSHOT_PAYLOAD",
    ],
  ];

  it.each(cases)("%s", async (_name, make, options, code) => {
    expect(await codeOf(await make(), options)).toBe(code);
  });

  it.each([
    [
      { flags: { x: { fallthrough: 42 } } },
      "snapshot flags do not match the schema: flags.x.fallthrough: expected (string | Object)",
    ],
    [
      { flags: { x: { fallthrough: "on", rules: [{ when: [], serve: { split: { on: -1 } } }] } } },
      "snapshot flags do not match the schema: flags.x.rules.0.serve.split.on: expected a number >= 0",
    ],
    [
      { flags: { x: { fallthrough: "maybe" } } },
      'snapshot flags do not compile: flags.x.fallthrough: no variant "maybe"',
    ],
  ])("says where the flags are wrong: %j", async (flags, message) => {
    const jws = await snapshot({ flags: flags as never });
    await expect(verifySnapshot(jws, base)).rejects.toThrow(message);
  });
});

describe("loadKeyRing", () => {
  it.each([
    ["not JSON", "{"],
    ["no keys", '{"keys":[]}'],
    ["a key without kid", JSON.stringify({ keys: [{ ...fixtureKeys.primary.public, kid: undefined }] })],
    ["a private key", JSON.stringify({ keys: [fixtureKeys.primary.private] })],
    ["an RSA-like key", JSON.stringify({ keys: [{ kty: "RSA", kid: "r", n: "x", e: "AQAB" }] })],
  ])("refuses %s with ERR_SNAPSHOT_NO_KEYS", async (_name, jwks) => {
    await expect(loadKeyRing(jwks)).rejects.toMatchObject({ code: "ERR_SNAPSHOT_NO_KEYS" });
  });

  it.each([
    "primary",
    "ec",
  ] as const)("imports a %s key declaring use, key_ops and alg, and verifies with it", async (name) => {
    const pub = fixtureKeys[name].public;
    const alg = name === "ec" ? "ES256" : "EdDSA";
    const keys = await loadKeyRing({ keys: [{ ...pub, alg, use: "sig", key_ops: ["verify"] }] });
    expect(keys.get(pub.kid!)?.alg).toBe(alg);
    const verified = await verifySnapshot(await snapshot({ version: 3 }, name), { ...base, keys });
    expect(verified.kid).toBe(pub.kid);
  });

  it.each([
    ["key_ops without verify", { key_ops: ["encrypt"] }],
    ["a bad public point", { x: "AAAA" }],
  ])("refuses at load a key with %s", async (_name, change) => {
    await expect(loadKeyRing({ keys: [{ ...fixtureKeys.ec.public, ...change }] })).rejects.toThrow();
  });
});
