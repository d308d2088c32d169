import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { COMPATIBILITY_DATE } from "./scripts/lib/compatibility-date";

// Test-only keys (test/fixtures/keys.json): the worker under test trusts the "primary", "rotated" and
// "ec" public keys; "untrusted" signs snapshots that must be refused.
const fixtureKeys = JSON.parse(readFileSync(new URL("./test/fixtures/keys.json", import.meta.url), "utf8"));
const trustedJwks = JSON.stringify({
  keys: [fixtureKeys.primary.public, fixtureKeys.rotated.public, fixtureKeys.ec.public],
});

// No network here or in CI: never try to download the request.cf sample.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

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
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./src/worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Explicit bindings win over a developer's .dev.vars (written by `npm start`), so the
              // tests see the same settings on every machine.
              bindings: {
                EDGEFLAGS_ENV: "test",
                GEO_HEADER_FALLBACK: "false",
                EDGEFLAGS_PUBLIC_KEYS: trustedJwks,
                PUBLISH_TOKEN: "test-publish-token",
                SERVER_API_KEYS: "test-server-key",
                REFRESH_INTERVAL_SECONDS: "1",
                FIXTURE_KEYS: JSON.stringify(fixtureKeys),
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
