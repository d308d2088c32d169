/**
 * The local target (wrangler's persisted KV, written through Miniflare) read back by the worker in
 * workerd, and the settings precedence: command line > environment > config file > defaults.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLocalWorker } from "../../scripts/lib/local-worker";
import { resolveSettings } from "../../src/publisher/config";
import { trustedKeys } from "../../src/publisher/keys";
import { cli, flagsYaml, project } from "./helpers";

describe("local target", () => {
  it("writes the store wrangler dev reads; a worker started on it serves the snapshot", async () => {
    const local = await project({ environment: "local-test", target: "local", localPersist: "../kv" });
    // Miniflare names a namespace listed without an id after its binding: "FLAGS".
    writeFileSync(join(local.dir, "wrangler.toml"), '[[kv_namespaces]]\nbinding = "FLAGS"\nid = "FLAGS"\n');
    const r = await cli(["publish", local.write("flags.yaml", flagsYaml("Local")), "--json"], local.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ version: 1 });
    const again = await cli(
      ["publish", local.write("flags.yaml", flagsYaml("Local 2")), "--json"],
      local.dir,
    );
    expect(again.json()).toMatchObject({ version: 2, previousVersion: 1 });

    const worker = await startLocalWorker({
      kvPersist: join(local.dir, "kv"),
      bindings: { EDGEFLAGS_ENV: "local-test", EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(local.keys.publicJwks) },
    });
    try {
      const body = await (await fetch(`${worker.url}/v1/flags?targetingKey=u`)).json();
      expect(body).toEqual({ version: 2, flags: { banner: "Local 2", checkout: true } });
    } finally {
      await worker.dispose();
    }
    const history = await cli(["history", "--json"], local.dir);
    expect(history.json<{ records: { version: number }[] }>().records.map((x) => x.version)).toEqual([2, 1]);
  }, 60_000);

  it("says what is missing when there is no wrangler.toml", async () => {
    const bare = await project({ target: "local" });
    const r = await cli(["history"], bare.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the local target needs .*wrangler\.toml/);
  });
});

const p = await project({
  url: "http://file.test",
  environment: "from-file",
  target: "local",
  publishToken: "file-token",
});
mkdirSync(join(p.dir, "sub", "deeper"), { recursive: true });

describe("settings precedence", () => {
  it("uses the config file found above the working directory, with paths relative to it", () => {
    const s = resolveSettings({}, {}, join(p.dir, "sub", "deeper"));
    expect(s).toMatchObject({
      url: "http://file.test",
      environment: "from-file",
      target: "local",
      publishToken: "file-token",
      privateKey: { file: join(p.dir, ".edgeflags", "key.json") },
      configFile: join(p.dir, ".edgeflags", "config.json"),
      waitTimeoutMs: 60_000,
    });
    expect(s.local.wranglerToml).toBe(join(p.dir, "wrangler.toml"));
  });

  it("environment variables beat the file, options beat both", () => {
    const env = {
      EDGEFLAGS_URL: "http://env.test",
      EDGEFLAGS_ENV: "from-env",
      EDGEFLAGS_TARGET: "worker",
      EDGEFLAGS_PUBLISH_TOKEN: "env-token",
      EDGEFLAGS_PRIVATE_KEY: '{"kty":"OKP"}',
      EDGEFLAGS_WAIT_TIMEOUT: "5",
    };
    expect(resolveSettings({}, env, p.dir)).toMatchObject({
      url: "http://env.test",
      environment: "from-env",
      target: "worker",
      publishToken: "env-token",
      privateKey: { json: '{"kty":"OKP"}', source: "EDGEFLAGS_PRIVATE_KEY" },
      waitTimeoutMs: 5000,
    });
    const cliOptions = {
      url: "http://cli.test/",
      env: "from-cli",
      target: "kv-api",
      key: "k.json",
      timeout: "2",
    };
    expect(resolveSettings(cliOptions, env, p.dir)).toMatchObject({
      url: "http://cli.test",
      environment: "from-cli",
      target: "kv-api",
      privateKey: { file: join(p.dir, "k.json") },
      waitTimeoutMs: 2000,
    });
  });

  it("defaults without any config, and refuses nonsense", () => {
    const bare = mkdtempSync(join(tmpdir(), "edgeflags-bare-"));
    expect(resolveSettings({}, {}, bare)).toMatchObject({
      url: undefined,
      environment: "development",
      target: "worker",
      publishToken: undefined,
      privateKey: undefined,
      configFile: undefined,
      waitTimeoutMs: 60_000,
    });
    expect(() => resolveSettings({ target: "ftp" }, {}, bare)).toThrow(/unknown target "ftp"/);
    expect(() => resolveSettings({ url: "127.0.0.1:8787" }, {}, bare)).toThrow(/must start with http/);
    expect(() => resolveSettings({ timeout: "-1" }, {}, bare)).toThrow(/positive number of seconds/);
    expect(() => resolveSettings({ config: "missing.json" }, {}, bare)).toThrow(/cannot read/);
  });

  it("names the source of public keys that are not a JWKS: the variable or the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeflags-jwks-"));
    writeFileSync(join(dir, "trusted.json"), "{not json");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ publicKeysFile: "trusted.json" }));
    const fromFile = resolveSettings({ config: "config.json" }, {}, dir);
    await expect(trustedKeys(fromFile.publicKeys)).rejects.toThrow(
      `publicKeysFile ${join(dir, "trusted.json")} is not a JWKS`,
    );
    const fromVar = resolveSettings({ config: "config.json" }, { EDGEFLAGS_PUBLIC_KEYS: "[]x" }, dir);
    await expect(trustedKeys(fromVar.publicKeys)).rejects.toThrow(/^EDGEFLAGS_PUBLIC_KEYS is not a JWKS/);
  });
});
