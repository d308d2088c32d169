/** Shared helpers for the worker tests: fixture keys, signed snapshots, calling the app in workerd. */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import type { JWK } from "jose";
import type { FlagsDocument } from "../../src/flags/types";
import { type AppOptions, createApp } from "../../src/http/app";
import type { Env } from "../../src/http/env";
import { kvKeys, type SnapshotPayload, snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, type SigningKey, signSnapshot } from "../../src/snapshot/sign";
import { checkoutAndBanner } from "../fixtures/sample-flags";

export type FixtureName = "primary" | "rotated" | "ec" | "untrusted";
type FixtureKeys = Record<FixtureName, { public: JWK; private: JWK }>;

export const testEnv = env as unknown as Env & { FIXTURE_KEYS: string };
export const fixtureKeys = JSON.parse(testEnv.FIXTURE_KEYS) as FixtureKeys;
export const ENVIRONMENT = "test";

export function signer(name: FixtureName = "primary"): Promise<SigningKey> {
  return importSigningKey(fixtureKeys[name].private);
}

/** A small document with a client-visible flag, a server-only flag, a geo rule and a split. */
export const sampleFlags: FlagsDocument = {
  flags: {
    ...checkoutAndBanner,
    "admin-panel": {
      rules: [
        { id: "admins", when: [{ attribute: "identity.role", op: "in", values: ["admin"] }], serve: "on" },
      ],
      fallthrough: "off",
    },
    "half-rollout": {
      clientVisible: true,
      fallthrough: { split: { on: 50, off: 50 } },
    },
  },
};

export function payload(overrides: Partial<SnapshotPayload> = {}): SnapshotPayload {
  return {
    ...snapshotPayload(sampleFlags, { environment: ENVIRONMENT, version: 1, sourceDigest: "sha256:test" }),
    ...overrides,
  };
}

/** A signed snapshot (primary key unless another is named). */
export async function snapshot(overrides: Partial<SnapshotPayload> = {}, key: FixtureName = "primary") {
  return signSnapshot(payload(overrides), await signer(key));
}

/** Writes a snapshot as the live one in the test KV. */
export async function publishToKv(jws: string, environment = ENVIRONMENT): Promise<void> {
  await testEnv.FLAGS.put(kvKeys.current(environment), jws);
}

export interface Harness {
  fetch(path: string, init?: RequestInit & { cf?: Record<string, unknown> }): Promise<Response>;
  env: Env;
}

/**
 * A fresh app (its own isolate-level cache) over the test KV, with optional setting overrides. The
 * bindings object is new per harness, so every harness starts cold.
 */
export function harness(overrides: Partial<Env> = {}, options: AppOptions = {}): Harness {
  const app = createApp({ log: () => {}, ...options });
  const bindings = { ...testEnv, ...overrides } as Env;
  return {
    env: bindings,
    async fetch(path, init = {}) {
      const ctx = createExecutionContext();
      const req = new Request(new URL(path, "https://flags.example.test"), init as RequestInit);
      const res = await app.fetch(req, bindings, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    },
  };
}

export function ofrepInit(context: Record<string, unknown>, extra: RequestInit & { cf?: unknown } = {}) {
  return {
    method: "POST",
    ...extra,
    headers: { "content-type": "application/json", ...(extra.headers as Record<string, string>) },
    body: JSON.stringify({ context }),
  };
}
