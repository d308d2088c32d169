import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { experimental_readRawConfig } from "wrangler";
import { COMPATIBILITY_DATE } from "./scripts/lib/compatibility-date";

// Test-only keys (test/fixtures/keys.json): the worker under test trusts the "primary", "rotated" and
// "ec" public keys; "untrusted" signs snapshots that must be refused.
const fixtureKeys = JSON.parse(readFileSync(new URL("./test/fixtures/keys.json", import.meta.url), "utf8"));
const trustedJwks = JSON.stringify({
  keys: [fixtureKeys.primary.public, fixtureKeys.rotated.public, fixtureKeys.ec.public],
});

// Keys of the trust-policy tests (test/fixtures/policy-keys.json): workers under test get them with
// EDGEFLAGS_PUBLIC_KEYS and EDGEFLAGS_POLICY overrides (test/worker/policy-helpers.ts).
const policyKeys = readFileSync(new URL("./test/fixtures/policy-keys.json", import.meta.url), "utf8");

// No network here or in CI: never try to download the request.cf sample.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

// Hermetic worker tests: wrangler reads `.dev.vars` (or `.env`, and with CLOUDFLARE_INCLUDE_PROCESS_ENV
// the shell's environment) from beside its config file, which is where `npm start` and a developer
// put their own settings. The pool reads a copy of wrangler.toml in a folder of its own instead, so
// only wrangler.toml and the bindings below decide what the tests see.
process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = "false";
delete process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
const { rawConfig } = experimental_readRawConfig({ config: "./wrangler.toml" });
const testConfigDir = resolve(".wrangler/test-config");
mkdirSync(testConfigDir, { recursive: true });
const testConfigPath = resolve(testConfigDir, "wrangler.json");
writeFileSync(
  testConfigPath,
  JSON.stringify({ ...rawConfig, main: resolve(rawConfig.main ?? "src/worker.ts") }, null, 2),
);

// Two projects: pure code (engine, flags file, publisher) runs in Node; anything that touches
// requests, KV or the worker's crypto runs inside real workerd through vitest-pool-workers.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/worker/**"],
          // One line when the browser suites are skipped (no Chromium and not CI).
          globalSetup: ["test/browser/global-setup.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./src/worker.ts",
            wrangler: { configPath: testConfigPath },
            miniflare: {
              bindings: {
                EDGEFLAGS_ENV: "test",
                GEO_HEADER_FALLBACK: "false",
                EDGEFLAGS_PUBLIC_KEYS: trustedJwks,
                PUBLISH_TOKEN: "test-publish-token",
                SERVER_API_KEYS: "test-server-key",
                REFRESH_INTERVAL_SECONDS: "1",
                FIXTURE_KEYS: JSON.stringify(fixtureKeys),
                POLICY_FIXTURE_KEYS: policyKeys,
              },
              // A real second worker as the gateway's origin; gateway tests bind it as ORIGIN.
              serviceBindings: { TEST_ORIGIN: "gateway-origin" },
              workers: [
                {
                  name: "gateway-origin",
                  modules: true,
                  scriptPath: "./test/worker/fixtures/origin-worker.mjs",
                  compatibilityDate: COMPATIBILITY_DATE,
                },
              ],
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
        },
      },
    ],
  },
});
