/**
 * Fixtures for the guard tests: a guarded flags document, publishing a version where the aggregator
 * can arm it (KV's versioned key and the beacon), an origin double that fails for chosen variants,
 * and readers of GET /v1/guards and /healthz. No I/O beyond the test's own bindings.
 */
import { expect } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import type { GuardStatus, GuardsAnswer } from "../../src/guard/types";
import { kvKeys } from "../../src/snapshot/format";
import { type Harness, publishToKv, snapshot, testEnv } from "./helpers";
import { realBeacon } from "./signal-helpers";

export const TOKEN = "test-publish-token";
export const auth = { authorization: `Bearer ${TOKEN}` };

/** Publishes `flags` as `version` everywhere the worker and the aggregator read it. */
export async function publishVersion(
  environment: string,
  version: number,
  flags: FlagsDocument,
): Promise<string> {
  const jws = await snapshot({ environment, version, flags });
  await publishToKv(jws, environment);
  await testEnv.FLAGS.put(kvKeys.version(environment, version), jws);
  await realBeacon(environment).announce(environment, version, jws);
  return jws;
}

/**
 * A gateway origin that answers 500 to requests whose forwarded flags give `flag` one of `failing`
 * variants, 200 otherwise: the new variant's code path is broken.
 */
export function failingOrigin(flag: string, failing: readonly unknown[]): Fetcher {
  return {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const req = new Request(input, init);
      const header = req.headers.get("x-edgeflags-flags");
      const value = header
        ? (JSON.parse(header) as { flags: Record<string, unknown> }).flags[flag]
        : undefined;
      return new Response(failing.includes(value) ? "boom" : "ok", {
        status: failing.includes(value) ? 500 : 200,
      });
    },
  } as unknown as Fetcher;
}

/** GET /v1/guards (flushing the asking isolate's counts first). */
export async function guardsOf(h: Harness, prefix = ""): Promise<GuardsAnswer & { served: GuardStatus }> {
  const res = await h.fetch(`${prefix}/v1/guards`, { headers: auth });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as GuardsAnswer & { served: GuardStatus };
}

export async function healthGuards(h: Harness, prefix = ""): Promise<GuardStatus> {
  const body = (await (await h.fetch(`${prefix}/healthz`)).json()) as { guards: GuardStatus };
  return body.guards;
}

/** One flag's evaluation through GET /v1/flags/:key. */
export async function evaluateFlag(h: Harness, flag: string, key: string) {
  const res = await h.fetch(`/v1/flags/${flag}?targetingKey=${key}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { value: unknown; variant: string; reason: string; ruleId?: string };
}
