/**
 * Preview tokens (src/preview/token.ts): what verifies and what is refused, with a stable problem code
 * each, before and after the signature. Keys: test/fixtures/policy-keys.json.
 */
import { readFileSync } from "node:fs";
import { base64url, CompactSign } from "jose";
import { describe, expect, it } from "vitest";
import type { PolicyFile } from "../../src/policy/policy";
import { previewPayload, signPreviewToken } from "../../src/preview/sign";
import {
  MAX_PREVIEW_FLAGS,
  MAX_PREVIEW_LIFETIME_SECONDS,
  MAX_PREVIEW_TOKEN_LENGTH,
  PREVIEW_TYP,
  type PreviewPayload,
  previewEnabled,
  previewPayloadProblem,
  verifyPreviewToken,
} from "../../src/preview/token";
import { loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey, type SigningKey } from "../../src/snapshot/sign";
import { type PolicyKeys, policyJwks } from "../fixtures/policy-keys";

type Kid = "ci-publisher" | "alice" | "qa-preview" | "team-web" | "bob";
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/policy-keys.json", import.meta.url), "utf8"),
) as PolicyKeys;
const JWKS = policyJwks(fixture, ["ci-publisher", "alice", "qa-preview", "team-web", "bob"]);

const POLICY: PolicyFile = {
  keys: {
    "ci-publisher": { roles: ["publisher"] },
    alice: { roles: ["approver"] },
    "qa-preview": { roles: ["preview"], scope: ["tag:checkout"] },
    "team-web": { roles: ["preview"] },
    bob: { roles: ["approver", "preview"] },
  },
  revoked: ["team-web"],
};

const ENV = "production";
/** 2026-01-15T12:00:00Z */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_S = NOW / 1000;

const ring = () => loadKeyRing(JWKS, POLICY);
const signer = (kid: Kid): Promise<SigningKey> => importSigningKey(fixture[kid].private);

function payload(overrides: Partial<PreviewPayload> = {}): PreviewPayload {
  return { environment: ENV, flags: { "new-checkout": "on" }, iat: NOW_S, exp: NOW_S + 7200, ...overrides };
}

/** Signs anything (the CLI's checks skipped), with any header. */
async function raw(body: unknown, kid: Kid = "qa-preview", header: Record<string, unknown> = {}) {
  const key = await signer(kid);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: PREVIEW_TYP, ...header })
    .sign(key.key);
}

async function verify(token: string, options: { now?: number; environment?: string; max?: number } = {}) {
  return verifyPreviewToken(token, {
    keys: await ring(),
    environment: options.environment ?? ENV,
    now: options.now ?? NOW,
    maxLifetimeSeconds: options.max,
  });
}

describe("verifyPreviewToken", () => {
  it("accepts a token signed by a preview key, with what it grants", async () => {
    const token = await signPreviewToken(payload({ sub: "qa-1" }), await signer("qa-preview"));
    const check = await verify(token);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.grant.kid).toBe("qa-preview");
    expect(check.grant.key).toEqual({ roles: ["preview"], scope: ["tag:checkout"] });
    expect([...check.grant.flags]).toEqual([["new-checkout", "on"]]);
    expect(check.grant.sub).toBe("qa-1");
    expect(check.grant.exp).toBe(NOW_S + 7200);
  });

  it("accepts a key with the preview role among others", async () => {
    expect((await verify(await raw(payload(), "bob"))).ok).toBe(true);
  });

  const tamper = (t: string) => {
    const [h, p, s] = t.split(".") as [string, string, string];
    const body = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
    body.flags["new-checkout"] = "off";
    return `${h}.${base64url.encode(JSON.stringify(body))}.${s}`;
  };

  const refusals: [
    string,
    () => Promise<string>,
    string,
    { now?: number; environment?: string; max?: number }?,
  ][] = [
    ["a tampered payload", async () => tamper(await raw(payload())), "signature"],
    ["a wrong signature", async () => `${(await raw(payload())).slice(0, -4)}AAAA`, "signature"],
    ["garbage", async () => "not-a-token", "malformed"],
    ["two parts", async () => (await raw(payload())).split(".").slice(0, 2).join("."), "malformed"],
    [
      "an unknown header field",
      async () => raw(payload(), "qa-preview", { x5u: "https://example.test/keys" }),
      "malformed",
    ],
    ["an embedded key", async () => raw(payload(), "qa-preview", { jwk: fixture.alice.public }), "malformed"],
    ["a snapshot's typ", async () => raw(payload(), "qa-preview", { typ: "edgeflags-snapshot+jws" }), "typ"],
    ["no typ", async () => raw(payload(), "qa-preview", { typ: undefined }), "typ"],
    ["an unknown kid", async () => raw(payload(), "qa-preview", { kid: "mallory" }), "kid"],
    [
      "alg none",
      async () =>
        `${base64url.encode(JSON.stringify({ alg: "none", typ: PREVIEW_TYP, kid: "qa-preview" }))}.${base64url.encode(JSON.stringify(payload()))}.x`,
      "alg",
    ],
    ["a publisher key", async () => raw(payload(), "ci-publisher"), "role"],
    ["an approver key", async () => raw(payload(), "alice"), "role"],
    ["a revoked preview key", async () => raw(payload(), "team-web"), "role"],
    ["another environment", async () => raw(payload({ environment: "staging" })), "environment"],
    ["an expired token", async () => raw(payload({ iat: NOW_S - 7200, exp: NOW_S })), "expired"],
    [
      "a token issued in the future",
      async () => raw(payload({ iat: NOW_S + 600, exp: NOW_S + 4200 })),
      "not_yet_valid",
    ],
    [
      "a lifetime over 7 days",
      async () => raw(payload({ exp: NOW_S + MAX_PREVIEW_LIFETIME_SECONDS + 1 })),
      "lifetime",
    ],
    ["a lifetime over the configured one", async () => raw(payload()), "lifetime", { max: 3600 }],
    ["exp before iat", async () => raw(payload({ iat: NOW_S + 30, exp: NOW_S + 10 })), "lifetime"],
    ["an unknown payload field", async () => raw({ ...payload(), paths: ["/"] }), "payload"],
    ["no flags", async () => raw(payload({ flags: {} })), "payload"],
    [
      "a variant that is not a name",
      async () => raw(payload({ flags: { x: 1 as unknown as string } })),
      "payload",
    ],
    ["an empty sub", async () => raw(payload({ sub: "" })), "payload"],
    ["fractional times", async () => raw(payload({ exp: NOW_S + 0.5 })), "payload"],
    [
      "a payload that is not JSON",
      async () => {
        const key = await signer("qa-preview");
        return new CompactSign(new TextEncoder().encode("{nope"))
          .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: PREVIEW_TYP })
          .sign(key.key);
      },
      "payload",
    ],
    ["a token too long for a cookie", async () => "a".repeat(MAX_PREVIEW_TOKEN_LENGTH + 1), "too_large"],
  ];

  it.each(refusals)("refuses %s", async (_name, make, problem, options) => {
    const check = await verify(await make(), options);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toBe(problem);
  });

  it("refuses every token without a policy, or when the ring lacks it", async () => {
    const token = await raw(payload());
    const noPolicy = await verifyPreviewToken(token, {
      keys: await loadKeyRing(JWKS),
      environment: ENV,
      now: NOW,
    });
    expect(noPolicy).toMatchObject({ ok: false, problem: "role" });
  });

  it("allows a minute of clock skew on iat, none on exp", async () => {
    expect((await verify(await raw(payload({ iat: NOW_S + 60, exp: NOW_S + 3600 })))).ok).toBe(true);
    expect((await verify(await raw(payload({ exp: NOW_S + 1 })), { now: NOW + 1000 })).ok).toBe(false);
  });
});

describe("previewEnabled", () => {
  it("is true only when some unrevoked key has the preview role", async () => {
    expect(previewEnabled(await ring())).toBe(true);
    expect(previewEnabled(await loadKeyRing(JWKS))).toBe(false);
    expect(previewEnabled(undefined)).toBe(false);
    const onlyRevoked: PolicyFile = {
      keys: { "ci-publisher": { roles: ["publisher"] }, "team-web": { roles: ["preview"] } },
      revoked: ["team-web"],
    };
    expect(previewEnabled(await loadKeyRing(JWKS, onlyRevoked))).toBe(false);
  });
});

describe("previewPayload (what the CLI signs)", () => {
  it("builds iat and exp in seconds and refuses what the worker would", () => {
    expect(
      previewPayload({ environment: ENV, flags: { a: "on" }, lifetimeSeconds: 7200, now: NOW + 999 }),
    ).toEqual({
      environment: ENV,
      flags: { a: "on" },
      iat: NOW_S,
      exp: NOW_S + 7200,
    });
    expect(() =>
      previewPayload({
        environment: ENV,
        flags: { a: "on" },
        lifetimeSeconds: MAX_PREVIEW_LIFETIME_SECONDS + 1,
      }),
    ).toThrow(/lives from 1 second to 604800 seconds/);
    const many = Object.fromEntries(Array.from({ length: MAX_PREVIEW_FLAGS + 1 }, (_, i) => [`f${i}`, "on"]));
    expect(() => previewPayload({ environment: ENV, flags: many, lifetimeSeconds: 60 })).toThrow(/more than/);
  });

  it("shape problems name the field", () => {
    expect(previewPayloadProblem(null)).toBe("not an object");
    expect(previewPayloadProblem({ ...payload(), environment: "" })).toBe("environment missing");
    expect(previewPayloadProblem({ ...payload(), flags: { "": "on" } })).toMatch(/not a flag name/);
    expect(previewPayloadProblem({ ...payload(), sub: "k".repeat(257) })).toMatch(/sub/);
    expect(previewPayloadProblem(payload())).toBeUndefined();
  });
});
