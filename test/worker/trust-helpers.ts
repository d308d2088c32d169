/**
 * Shared by the trust tests: what a legitimate publish leaves behind (KV's versioned and live keys,
 * the beacon raised with its copy), what a KV writer can do on top of it (write KV directly, never
 * the beacon), and reading /healthz. No I/O beyond the test's own bindings.
 */
import { expect } from "vitest";
import type { Beacon } from "../../src/signal/types";
import { kvKeys } from "../../src/snapshot/format";
import { type Harness, testEnv } from "./helpers";
import { brokenBeacon, realBeacon } from "./signal-helpers";

/**
 * What the intake does for a verified snapshot: KV's versioned key, then the live key, then the
 * beacon (with its copy unless `copy` is false, as for a snapshot too big for the beacon).
 */
export async function publishLegit(environment: string, version: number, jws: string, copy = true) {
  await testEnv.FLAGS.put(kvKeys.version(environment, version), jws);
  await testEnv.FLAGS.put(kvKeys.current(environment), jws);
  await realBeacon(environment).announce(environment, version, copy ? jws : null);
}

/** A KV writer (leaked API token, compromised CI): writes KV directly, bypassing the intake. */
export async function kvWriter(
  environment: string,
  keys: { current?: string; versions?: [number, string][] },
) {
  if (keys.current !== undefined) await testEnv.FLAGS.put(kvKeys.current(environment), keys.current);
  for (const [version, value] of keys.versions ?? []) {
    await testEnv.FLAGS.put(kvKeys.version(environment, version), value);
  }
}

/** A beacon that is unreachable until `up()` is called, then the real one. */
export function flakyBeacon(environment: string) {
  const state = { up: false };
  const current = (): Beacon => (state.up ? realBeacon(environment) : brokenBeacon);
  const beacon: Beacon = {
    read: () => current().read(),
    snapshot: (version) => current().snapshot(version),
    announce: (e, version, jws) => current().announce(e, version, jws),
  };
  return {
    beacon: () => beacon,
    up: () => {
      state.up = true;
    },
  };
}

export interface Health {
  status: string;
  version: number | null;
  expiresAt: string | null;
  source: string;
  lastError: { code: string; message: string } | null;
  floor: {
    version: number | null;
    announcedAt: string | null;
    checkedAt: string | null;
    reason?: string;
    error?: { code: string; message: string };
  };
  signal: {
    lastCheck: {
      result: string;
      seenVersion: number | null;
      fetchedFrom?: string;
      error?: { code: string };
    } | null;
  };
}

export async function health(h: Harness): Promise<{ status: number; body: Health }> {
  const res = await h.fetch("/healthz");
  return { status: res.status, body: (await res.json()) as Health };
}

/** The version `h` serves (asserting it serves one). */
export async function served(h: Harness): Promise<number> {
  const res = await h.fetch("/v1/flags?targetingKey=u");
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

/** Long after any publish: an older snapshot in KV is then no longer explained by KV's lag. */
export const LONG_AFTER_MS = 10 * 60_000;
