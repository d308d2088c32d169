/** Gateway test fixtures: a flags file with gates, and a harness in gateway mode in front of the origin worker. */
import type { FlagsDocument } from "../../src/flags/types";
import type { AppOptions } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import { type Harness, harness, publishToKv, snapshot, testEnv } from "./helpers";

/** A client-visible string holding everything that could break out of a <script> or a header. */
export const TRICKY_BANNER = 'Hi </script><script>alert(1)</script> & <!-- é \u2028 "q"';

export const gatewayFlags: FlagsDocument = {
  flags: {
    "checkout-geo": {
      clientVisible: true,
      geo: { block: { countries: ["RU", "IR"] } },
      fallthrough: "on",
    },
    banner: {
      clientVisible: true,
      variants: { tricky: TRICKY_BANNER, plain: "Hello" },
      offVariant: "plain",
      fallthrough: "tricky",
    },
    "eu-promo": {
      clientVisible: true,
      variants: { eu: "eu", other: "other" },
      offVariant: "other",
      rules: [{ when: [{ attribute: "geo.continent", op: "in", values: ["EU"] }], serve: "eu" }],
      fallthrough: "other",
    },
    admin: {
      rules: [{ when: [{ attribute: "identity.role", op: "in", values: ["admin"] }], serve: "on" }],
      fallthrough: "off",
    },
    "ops-switch": { fallthrough: "on" },
  },
  gates: [
    {
      id: "geo-block",
      pattern: "/checkout/*",
      flag: "checkout-geo",
      allow: ["on"],
      deny: { status: 451, body: "Checkout is not available in your country." },
      inject: true,
    },
    {
      id: "checkout-api",
      pattern: "/checkout/api/*",
      methods: ["POST"],
      flag: "checkout-geo",
      allow: ["on"],
      deny: { status: 403, json: { error: "geo_blocked" } },
    },
    {
      id: "promo-redirect",
      pattern: "/promo{/*}?",
      flag: "eu-promo",
      allow: ["eu"],
      deny: { redirect: "https://example.com/promo-intl", status: 307 },
    },
    {
      id: "promo-rewrite",
      pattern: "/promo/special/:id",
      flag: "eu-promo",
      allow: ["eu"],
      deny: { rewrite: "/fallback/promo?from=gate" },
    },
    {
      id: "admin-host",
      pattern: "/*",
      host: "admin.example.test",
      flag: "admin",
      allow: ["on"],
      deny: { status: 404 },
    },
    {
      id: "ops",
      pattern: "/ops/*",
      flag: "ops-switch",
      allow: ["on"],
      deny: { status: 503 },
      onUnavailable: "allow",
    },
    {
      id: "release",
      pattern: "/release/*",
      flag: "checkout-geo",
      allow: ["on"],
      deny: { status: 403 },
    },
  ],
};

export const GATEWAY_VERSION = 12;

/** Publishes the gateway snapshot under its own environment name (KV is per test file). */
export async function publishGateway(environment: string, expiresAt?: string): Promise<void> {
  const jws = await snapshot({
    environment,
    version: GATEWAY_VERSION,
    flags: gatewayFlags,
    ...(expiresAt ? { expiresAt } : {}),
  });
  await publishToKv(jws, environment);
}

/** The origin worker, as the test worker sees it (a real service binding). */
export const originBinding = (testEnv as unknown as { TEST_ORIGIN: Fetcher }).TEST_ORIGIN;

/** A harness in gateway mode with the origin worker bound as ORIGIN. */
export function gatewayHarness(
  environment: string,
  overrides: Partial<Env> = {},
  options: AppOptions = {},
): Harness {
  return harness(
    { GATEWAY: "true", ORIGIN: originBinding, EDGEFLAGS_ENV: environment, ...overrides },
    options,
  );
}

export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}
