/**
 * Identity tokens in workerd (src/http/jwt.ts), played by an attacker: what a forged, altered,
 * mis-addressed or badly timed token gets, which keys of a JWKS may verify it, and how a fetched JWKS
 * is cached, refreshed and distrusted when its provider cannot be reached. Tokens are made with jose,
 * the library the worker no longer bundles.
 */
import { CompactSign, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type JwtAlgorithm,
  JwtError,
  type JwtExpectations,
  type KeySet,
  localKeySet,
  REMOTE_JWKS,
  remoteKeySet,
  verifyJwt,
} from "../../src/http/jwt";
import * as base64url from "../../src/snapshot/base64url";

const NOW = 1_900_000_000;
const EXPECT: JwtExpectations = {
  issuer: "https://id.example.test",
  audience: "shop",
  algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
  clockTolerance: 30,
  now: NOW,
};
const CLAIMS = { iss: EXPECT.issuer, aud: EXPECT.audience, sub: "user-1", iat: NOW - 10, exp: NOW + 300 };

interface Pair {
  jwk: JWK;
  privateKey: CryptoKey;
}
const keys: Record<string, Pair> = {};

async function pair(alg: string, kid: string, options: Record<string, unknown> = {}): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { jwk: { ...(await exportJWK(publicKey)), kid }, privateKey };
}

beforeAll(async () => {
  keys.es = await pair("ES256", "es");
  keys.ed = await pair("EdDSA", "ed");
  keys.rs = await pair("RS256", "rs");
  keys.ps = await pair("PS256", "ps");
  keys.esOther = await pair("ES256", "es");
  // jose will neither make nor sign with an RSA key under 2048 bits; WebCrypto will.
  const small = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  keys.rsSmall = {
    jwk: { ...((await crypto.subtle.exportKey("jwk", small.publicKey)) as JWK), kid: "rs-small" },
    privateKey: small.privateKey,
  };
});

/** A token signed with WebCrypto directly (RS256), for keys jose refuses to sign with. */
async function signRaw(key: Pair, claims: Record<string, unknown> = CLAIMS): Promise<string> {
  const input = `${base64url.encode(JSON.stringify({ alg: "RS256", kid: key.jwk.kid }))}.${base64url.encode(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

/** A token over `claims` (default: valid ones), signed by `key` with `header` (alg and kid default to the key's). */
function sign(
  key: Pair,
  alg: string,
  claims: Record<string, unknown> = CLAIMS,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.jwk.kid, ...header }).sign(key.privateKey);
}

/** A compact JWS over arbitrary payload bytes. */
function signBytes(key: Pair, alg: string, payload: Uint8Array, header: Record<string, unknown> = {}) {
  return new CompactSign(payload)
    .setProtectedHeader({ alg, kid: key.jwk.kid, ...header })
    .sign(key.privateKey);
}

const set = (...jwks: JWK[]) => localKeySet({ keys: jwks });
const allKeys = () => set(keys.es!.jwk, keys.ed!.jwk, keys.rs!.jwk, keys.ps!.jwk);

async function refusal(token: string, ks: KeySet = allKeys(), expect_ = EXPECT): Promise<string> {
  try {
    await verifyJwt(token, ks, expect_);
  } catch (err) {
    expect(err).toBeInstanceOf(JwtError);
    return (err as Error).message;
  }
  throw new Error("the token was accepted");
}

describe("tokens the worker accepts", () => {
  it.each<[string, string, JwtAlgorithm]>([
    ["ES256", "es", "ES256"],
    ["EdDSA", "ed", "EdDSA"],
    ["RS256", "rs", "RS256"],
    ["PS256", "ps", "PS256"],
  ])("%s, its key chosen by kid", async (_what, name, alg) => {
    const claims = await verifyJwt(await sign(keys[name]!, alg), allKeys(), EXPECT);
    expect(claims).toEqual(CLAIMS);
  });

  it.each<[string, Record<string, unknown>]>([
    ["an audience list that includes the worker's", { aud: ["other", "shop"] }],
    ["an expiry inside the clock tolerance", { exp: NOW - 20 }],
    ["nbf inside the clock tolerance", { nbf: NOW + 20 }],
    ["iat inside the clock tolerance", { iat: NOW + 20 }],
    ["no iat", { iat: undefined }],
  ])("with %s", async (_what, change) => {
    const token = await sign(keys.es!, "ES256", { ...CLAIMS, ...change });
    await expect(verifyJwt(token, allKeys(), EXPECT)).resolves.toMatchObject({ sub: "user-1" });
  });

  it("without a kid, from whichever key of the set verifies it", async () => {
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg: "ES256" }).sign(keys.es!.privateKey);
    const ks = set({ ...keys.esOther!.jwk, kid: "a" }, { ...keys.es!.jwk, kid: "b" });
    await expect(verifyJwt(token, ks, EXPECT)).resolves.toMatchObject({ sub: "user-1" });
  });

  it("from the right one of two keys sharing a kid", async () => {
    const ks = set(keys.esOther!.jwk, keys.es!.jwk);
    await expect(verifyJwt(await sign(keys.es!, "ES256"), ks, EXPECT)).resolves.toMatchObject({
      sub: "user-1",
    });
  });

  it("with a key that declares its alg, use and key_ops as signing ones", async () => {
    const ks = set({ ...keys.es!.jwk, alg: "ES256", use: "sig", key_ops: ["verify"] });
    await expect(verifyJwt(await sign(keys.es!, "ES256"), ks, EXPECT)).resolves.toBeDefined();
  });
});

describe("forged and altered tokens", () => {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

  it("an unsigned token (alg none)", async () => {
    const token = `${encode({ alg: "none" })}.${encode(CLAIMS)}.`;
    expect(await refusal(token)).toBe("algorithm none is not allowed");
  });

  it("HS256 keyed with the public key's own text (algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keys.rs!.jwk));
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg: "HS256", kid: "rs" }).sign(secret);
    expect(await refusal(token)).toBe("algorithm HS256 is not allowed");
  });

  it("an algorithm the settings do not allow, from a key of the set", async () => {
    const token = await sign(keys.es!, "ES256");
    expect(await refusal(token, allKeys(), { ...EXPECT, algorithms: ["EdDSA"] })).toBe(
      "algorithm ES256 is not allowed",
    );
  });

  it("signed by another key under a trusted key's kid", async () => {
    const token = await sign(keys.esOther!, "ES256");
    expect(await refusal(token, set(keys.es!.jwk))).toBe("the signature does not verify");
  });

  it("claims changed after signing", async () => {
    const [h, , s] = (await sign(keys.ed!, "EdDSA")).split(".");
    const token = `${h}.${encode({ ...CLAIMS, sub: "admin", role: "admin" })}.${s}`;
    expect(await refusal(token)).toBe("the signature does not verify");
  });

  it("a header changed after signing (another algorithm of the same key type)", async () => {
    const [, p, s] = (await sign(keys.rs!, "RS256")).split(".");
    const token = `${encode({ alg: "PS256", kid: "rs" })}.${p}.${s}`;
    expect(await refusal(token)).toBe("the signature does not verify");
  });

  it.each<[string, string]>([
    ["two parts", "a.b"],
    ["four parts", "a.b.c.d"],
    ["a header that is not base64url JSON", "!!.e30.AA"],
    ["a header that is a JSON array", `${base64url.encode("[1]")}.e30.AA`],
    ["an empty token", ""],
  ])("%s", async (_what, token) => {
    expect(await refusal(token)).toBe("not a compact JWS with a JSON header");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["critical extensions (crit)", { crit: ["exp"], exp: 1 }, "critical header extensions are not supported"],
    [
      "an unencoded payload (b64: false)",
      { crit: ["b64"], b64: false },
      "critical header extensions are not supported",
    ],
    ["a kid that is not a string", { kid: 7 }, "kid is not a string"],
    ["a kid no key has", { kid: "nobody" }, "no key in the JWKS fits alg ES256, kid nobody"],
  ])("a header with %s", async (_what, header, message) => {
    const token = `${encode({ alg: "ES256", ...header })}.${encode(CLAIMS)}.AA`;
    expect(await refusal(token)).toBe(message);
  });

  it("a signature that is not base64url", async () => {
    const [h, p] = (await sign(keys.es!, "ES256")).split(".");
    expect(await refusal(`${h}.${p}.***`)).toBe("the signature is not base64url");
  });

  it.each<[string, string]>([
    ["claims that are a JSON array", "[1,2]"],
    ["claims that are a JSON string", '"admin"'],
  ])("%s, properly signed", async (_what, text) => {
    const token = await signBytes(keys.es!, "ES256", new TextEncoder().encode(text));
    expect(await refusal(token)).toBe("the claims are not a JSON object");
  });

  it("claims that are not UTF-8, properly signed", async () => {
    const token = await signBytes(keys.es!, "ES256", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(await refusal(token)).toBe("the claims are not base64url JSON");
  });
});

describe("which keys of a JWKS may verify", () => {
  it.each<[string, () => JWK, string]>([
    ["a key meant for encryption (use: enc)", () => ({ ...keys.es!.jwk, use: "enc" }), "ES256"],
    ["a key whose key_ops lack verify", () => ({ ...keys.es!.jwk, key_ops: ["encrypt"] }), "ES256"],
    ["a key declaring another alg", () => ({ ...keys.es!.jwk, alg: "ES384" }), "ES256"],
    ["a key of another type for the token's alg", () => ({ ...keys.ed!.jwk, kid: "es" }), "ES256"],
    ["an RSA key under 2048 bits", () => keys.rsSmall!.jwk, "RS256"],
    ["a JWK WebCrypto refuses (no x)", () => ({ ...keys.ed!.jwk, x: undefined }), "EdDSA"],
  ])("not %s", async (_what, jwk, alg) => {
    const key = Object.values(keys).find((k) => k.jwk.kid === jwk().kid && k.jwk.kty === jwk().kty);
    const token = key && key === keys.rsSmall ? await signRaw(key) : await sign(key ?? keys.es!, alg);
    expect(await refusal(token, set(jwk()))).toMatch(/^no key in the JWKS fits/);
  });

  it("not a private key, even one that would verify", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: "priv" };
    const token = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: "ES256", kid: "priv" })
      .sign(privateKey);
    expect(await refusal(token, set(privateJwk))).toMatch(/^no key in the JWKS fits/);
  });
});

describe("claims", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["another issuer", { iss: "https://evil.example" }, "unexpected issuer"],
    ["no issuer", { iss: undefined }, "unexpected issuer"],
    ["another audience", { aud: "someone-else" }, "unexpected audience"],
    ["an audience list without the worker's", { aud: ["a", "b"] }, "unexpected audience"],
    ["no audience", { aud: undefined }, "unexpected audience"],
    ["no exp", { exp: undefined }, 'the "exp" claim is missing'],
    ["exp as a string", { exp: String(NOW + 300) }, 'the "exp" claim is not a number'],
    ["exp beyond any number (1e999)", { exp: "INFINITY" }, 'the "exp" claim is not a number'],
    ["an expiry past the tolerance", { exp: NOW - 31 }, "the token has expired"],
    ["nbf past the tolerance", { nbf: NOW + 31 }, "the token is not valid yet"],
    ["nbf as a string", { nbf: "soon" }, 'the "nbf" claim is not a number'],
    ["iat in the future past the tolerance", { iat: NOW + 3600 }, "the token was issued in the future"],
    ["iat as a string", { iat: "yesterday" }, 'the "iat" claim is not a number'],
  ])("refuses %s", async (_what, change, message) => {
    let token = await sign(keys.ed!, "EdDSA", { ...CLAIMS, ...change });
    if (change.exp === "INFINITY") {
      // JSON.parse reads 1e999 as Infinity; jose will not sign that, so sign the text directly.
      const text = JSON.stringify({ ...CLAIMS, exp: 0 }).replace('"exp":0', '"exp":1e999');
      token = await signBytes(keys.ed!, "EdDSA", new TextEncoder().encode(text));
    }
    expect(await refusal(token)).toBe(message);
  });
});

describe("a JWKS fetched from a URL", () => {
  const URL_ = new URL("https://id.example.test/.well-known/jwks.json");

  /** A provider whose JWKS can be changed or broken, counting fetches, on a clock the test moves. */
  function provider(initial: JWK[]) {
    const state = {
      jwks: initial as unknown,
      status: 200,
      fail: false,
      body: undefined as string | undefined,
      fetches: 0,
      now: 1_000_000,
      init: undefined as RequestInit | undefined,
    };
    const fetcher = async (url: string, init: RequestInit) => {
      expect(url).toBe(URL_.href);
      state.fetches++;
      state.init = init;
      if (state.fail) throw new TypeError("network connection lost");
      return new Response(state.body ?? JSON.stringify({ keys: state.jwks }), { status: state.status });
    };
    const ks = remoteKeySet(URL_, fetcher, () => state.now);
    return { state, ks };
  }

  const ok = (token: string, ks: KeySet) =>
    expect(verifyJwt(token, ks, EXPECT)).resolves.toMatchObject({ sub: "user-1" });
  const unavailable = async (token: string, ks: KeySet) => {
    const err = await verifyJwt(token, ks, EXPECT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JwtError);
    expect((err as JwtError).unavailable).toBe(true);
    return (err as Error).message;
  };

  it("fetches once, without following redirects, and keeps the keys until they are old", async () => {
    const { state, ks } = provider([keys.es!.jwk]);
    const token = await sign(keys.es!, "ES256");
    await ok(token, ks);
    await ok(token, ks);
    expect(state.fetches).toBe(1);
    expect(state.init).toMatchObject({ method: "GET", redirect: "manual" });
    state.now += REMOTE_JWKS.maxAgeMs - 1;
    await ok(token, ks);
    expect(state.fetches).toBe(1);
    state.now += 1;
    await ok(token, ks);
    expect(state.fetches).toBe(2);
  });

  it("finds a provider's new key by fetching again, at most once per cool-down", async () => {
    const { state, ks } = provider([keys.es!.jwk]);
    await ok(await sign(keys.es!, "ES256"), ks);
    state.jwks = [keys.es!.jwk, keys.ed!.jwk];
    // Within the cool-down a token naming an unknown key fetches nothing: a stream of such tokens
    // cannot turn the worker against the provider.
    for (let i = 0; i < 5; i++) {
      expect(await refusal(await sign(keys.ed!, "EdDSA"), ks)).toMatch(/^no key in the JWKS fits/);
    }
    expect(state.fetches).toBe(1);
    state.now += REMOTE_JWKS.cooldownMs;
    await ok(await sign(keys.ed!, "EdDSA"), ks);
    expect(state.fetches).toBe(2);
  });

  it("stops trusting a key the provider dropped once the keys are fetched again", async () => {
    const { state, ks } = provider([keys.es!.jwk, keys.ed!.jwk]);
    const dropped = await sign(keys.ed!, "EdDSA");
    await ok(dropped, ks);
    state.jwks = [keys.es!.jwk];
    state.now += REMOTE_JWKS.maxAgeMs;
    expect(await refusal(dropped, ks)).toMatch(/^no key in the JWKS fits/);
  });

  it.each<[string, Partial<ReturnType<typeof provider>["state"]>, RegExp]>([
    ["the network fails", { fail: true }, /network connection lost/],
    ["the provider answers 500", { status: 500 }, /HTTP 500/],
    ["the provider redirects", { status: 302 }, /HTTP 302/],
    ["the body is not JSON", { body: "<html>" }, /could not be fetched/],
    ["the body is not a JWKS", { body: '{"keys":"none"}' }, /not a JWKS/],
    ["the JWKS is empty", { body: '{"keys":[]}' }, /not a JWKS/],
    ["the body is over 64 KB", { body: `{"keys":[${'{"kty":"EC"},'.repeat(6000)}{}]}` }, /characters/],
  ])("refuses every token as unverifiable when %s, and tries again later", async (_what, broken, reason) => {
    const { state, ks } = provider([keys.es!.jwk]);
    const token = await sign(keys.es!, "ES256");
    Object.assign(state, broken);
    const message = await unavailable(token, ks);
    expect(message).toMatch(/^the identity keys \(IDENTITY_JWKS_URL\) could not be fetched/);
    expect(message).toMatch(reason);
    // Within the retry delay no request fetches again.
    await unavailable(token, ks);
    expect(state.fetches).toBe(1);
    Object.assign(state, { fail: false, status: 200, body: undefined });
    state.now += REMOTE_JWKS.retryMs;
    await ok(token, ks);
    expect(state.fetches).toBe(2);
  });

  it("does not trust keys past their age when the provider cannot be reached", async () => {
    const { state, ks } = provider([keys.es!.jwk]);
    const token = await sign(keys.es!, "ES256");
    await ok(token, ks);
    state.fail = true;
    state.now += REMOTE_JWKS.maxAgeMs;
    await unavailable(token, ks);
  });
});
