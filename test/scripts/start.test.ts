/**
 * `npm start`'s pure parts: its command line (--port, EDGEFLAGS_PORT, usage errors), the wrangler
 * lines it leaves out on a first start, and the "what to try" text.
 */
import { describe, expect, it } from "vitest";
import { parseStartArgs, StartUsageError } from "../../scripts/lib/start-args";
import { curlCommand, tryItText, tryRequests } from "../../scripts/lib/try-it";
import { isFirstStartNoise } from "../../scripts/lib/wrangler-lines";

type Env = Record<string, string | undefined>;

describe("parseStartArgs", () => {
  it.each<[string, string[], Env, { port: number; portFrom: string; help?: boolean }]>([
    ["nothing: 8787", [], {}, { port: 8787, portFrom: "default" }],
    ["--port N", ["--port", "9001"], {}, { port: 9001, portFrom: "--port" }],
    ["--port=N", ["--port=9001"], {}, { port: 9001, portFrom: "--port" }],
    ["-p N", ["-p", "9001"], {}, { port: 9001, portFrom: "--port" }],
    ["EDGEFLAGS_PORT", [], { EDGEFLAGS_PORT: "9002" }, { port: 9002, portFrom: "EDGEFLAGS_PORT" }],
    [
      "--port wins over EDGEFLAGS_PORT",
      ["--port", "9001"],
      { EDGEFLAGS_PORT: "9002" },
      { port: 9001, portFrom: "--port" },
    ],
    [
      "npm start --port=N (npm keeps it as npm_config_port)",
      [],
      { npm_config_port: "9003" },
      { port: 9003, portFrom: "--port" },
    ],
    ["PORT is not read", [], { PORT: "3000" }, { port: 8787, portFrom: "default" }],
    ["a blank EDGEFLAGS_PORT is unset", [], { EDGEFLAGS_PORT: " " }, { port: 8787, portFrom: "default" }],
    ["--help", ["--help"], {}, { port: 8787, portFrom: "default", help: true }],
  ])("%s", (_name, argv, env, expected) => {
    expect(parseStartArgs(argv, env)).toEqual({ help: false, ...expected });
  });

  it.each<[string, string[], Env, RegExp]>([
    ["an unknown option", ["--prot", "9001"], {}, /^unknown option --prot$/],
    ["a stray argument", ["9001"], {}, /^unexpected argument "9001"$/],
    [
      "npm start --port 9001 without --",
      ["9001"],
      { npm_config_port: "true" },
      /npm kept --port for itself: run npm start -- --port 9001/,
    ],
    ["--port without a value", ["--port"], {}, /--port needs a number/],
    [
      "a port that is not a number",
      ["--port", "http"],
      {},
      /--port takes a port number from 1 to 65535, got "http"/,
    ],
    ["a port out of range", ["--port", "70000"], {}, /from 1 to 65535/],
    ["port 0", ["--port", "0"], {}, /from 1 to 65535/],
    ["a bad EDGEFLAGS_PORT", [], { EDGEFLAGS_PORT: "88o8" }, /^EDGEFLAGS_PORT takes a port number/],
  ])("refuses %s", (_name, argv, env, message) => {
    const err = (() => {
      try {
        parseStartArgs(argv, env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StartUsageError);
    expect((err as Error).message).toMatch(message);
  });
});

describe("isFirstStartNoise", () => {
  it("is only the two answers that mean 'nothing published yet', coloured or not", () => {
    expect(isFirstStartNoise("[wrangler:info] GET /healthz 503 Service Unavailable (369ms)")).toBe(true);
    expect(isFirstStartNoise("[wrangler:info] GET /v1/snapshot 404 Not Found (4ms)")).toBe(true);
    expect(
      isFirstStartNoise(
        "\x1b[32m[wrangler:info]\x1b[39m \x1b[1mGET\x1b[22m /healthz \x1b[31m\x1b[1m503\x1b[22m Service",
      ),
    ).toBe(true);
    for (const line of [
      "[wrangler:info] GET /healthz 200 OK (3ms)",
      "[wrangler:info] PUT /v1/snapshot 201 Created (46ms)",
      "[wrangler:info] PUT /v1/snapshot 500 Internal Server Error (4ms)",
      "[wrangler:info] GET /v1/snapshot/history 404 Not Found (4ms)",
      "[wrangler:info] GET /v1/flags 503 Service Unavailable (1ms)",
      '{"event":"snapshot_refresh_failed","level":"warn","code":"ERR_SNAPSHOT_SOURCE"}',
      "✘ [ERROR] something broke",
    ]) {
      expect(isFirstStartNoise(line), line).toBe(false);
    }
  });
});

describe("the what-to-try text", () => {
  const text = tryItText({
    baseUrl: "http://127.0.0.1:9001",
    serverApiKey: "dev-key-123",
    demoFile: "examples/demo.flags.yaml",
  });

  it("uses the chosen port everywhere, and prints the server key in the server-only example", () => {
    expect(text).not.toContain("8787");
    for (const r of tryRequests("dev-key-123")) {
      const [first] = curlCommand("http://127.0.0.1:9001", r).split("\n");
      expect(text).toContain(`  ${`${r.label}:`.padEnd(22)}${first}`);
    }
    expect(text).toContain(
      "  server-only, OFREP:   curl -X POST -H 'X-API-Key: dev-key-123' -H 'content-type: application/json' \\\n" +
        '                          -d \'{"context":{"targetingKey":"user-1"}}\' \'http://127.0.0.1:9001/ofrep/v1/evaluate/flags/search-backend-v2\'',
    );
    expect(text).toMatch(/live-support-chat is true only with both headers/);
    expect(text).toMatch(/Mon-Fri 09:00-17:30, Sat 10:00-14:00 \(Europe\/Berlin\)/);
    expect(text).toContain(`  ${"console:".padEnd(22)}http://127.0.0.1:9001/console\n`);
    expect(text).toContain("sign in with PUBLISH_TOKEN from .dev.vars");
    // The development token itself, so nobody copies the quotes around it in .dev.vars.
    expect(
      tryItText({
        baseUrl: "http://127.0.0.1:9001",
        serverApiKey: "k",
        publishToken: "dev-pub-1",
        demoFile: "f.yaml",
      }),
    ).toContain(
      "# sign in with PUBLISH_TOKEN from .dev.vars: dev-pub-1 (or set CONSOLE_TOKEN there, read-only)",
    );
  });

  it("warns when EDGEFLAGS_* settings in the shell would send the CLI elsewhere", () => {
    expect(text).not.toContain("Note:");
    const noted = tryItText({
      baseUrl: "http://127.0.0.1:9001",
      serverApiKey: "k",
      demoFile: "f.yaml",
      shellSettings: ["EDGEFLAGS_URL", "EDGEFLAGS_ENV"],
    });
    expect(noted).toContain("Note: EDGEFLAGS_URL, EDGEFLAGS_ENV are set in this shell");
  });

  it("quotes shell-unsafe characters in curl lines", () => {
    const line = curlCommand("http://x", { label: "l", method: "GET", path: "/a", headers: { H: "it's" } });
    expect(line).toBe(`curl -H 'H: it'\\''s' 'http://x/a'`);
  });
});
