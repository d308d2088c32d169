/**
 * The installable CLI, as a user gets it: `npm pack` (its prepack builds dist/), the tarball installed
 * into an empty project, then `npx edgeflags keygen | validate | lint | diff | publish` there against
 * the worker in workerd on 127.0.0.1 - with no TypeScript anywhere in the installed tree. Slow (an npm
 * install, mostly from npm's cache): one test. I/O: npm, a temporary folder, loopback HTTP.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { cleanEnv, packAndInstall, run } from "../../scripts/lib/pack-install";
import { flagsYaml } from "./helpers";

const ENV = "pack-test";
const TOKEN = "pack-test-token";
let worker: LocalWorker | undefined;
let tmp: string | undefined;

afterAll(async () => {
  await worker?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Every folder named `name` anywhere under `dir`'s node_modules trees. */
function findPackages(dir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      const scoped = entry.startsWith("@")
        ? readdirSync(join(modules, entry)).map((e) => `${entry}/${e}`)
        : [entry];
      for (const pkg of scoped) {
        if (pkg === name) found.push(join(modules, pkg));
        walk(join(modules, pkg, "node_modules"));
      }
    }
  };
  walk(join(dir, "node_modules"));
  return found;
}

it("packs, installs into an empty project and runs validate, lint, diff and publish there", async () => {
  const installed = await packAndInstall();
  tmp = installed.dir;
  const { app } = installed;

  // What the tarball holds: the build, the bin and the schema; no sources, tests or scripts.
  expect(installed.files).toEqual(
    expect.arrayContaining(["bin/edgeflags.mjs", "dist/cli.mjs", "package.json"]),
  );
  expect(installed.files.filter((f) => /^(src|test|scripts)\//.test(f) || f.endsWith(".ts"))).toEqual([]);
  const pkg = join(app, "node_modules", "edgeflags");
  expect(JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"))).not.toHaveProperty("private");
  // No TypeScript at run time: nothing that could run it is installed, and there is nothing to run.
  for (const name of ["tsx", "typescript", "esbuild", "miniflare", "wrangler"]) {
    expect(findPackages(app, name), name).toEqual([]);
  }
  expect(existsSync(join(pkg, "src"))).toBe(false);
  expect(statSync(join(app, "node_modules", ".bin", "edgeflags")).isFile()).toBe(true);
  // The browser helper of README "Outcome events", importable by the package's export name.
  const helper = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'console.log(typeof (await import("edgeflags/client")).withOutcomeTracking)',
    ],
    app,
  );
  expect(helper.stdout.trim(), helper.stderr).toBe("function");

  const times: [string, number][] = [
    ["pack", installed.packMs],
    ["install", installed.installMs],
  ];
  const npx = async (args: string[], env: Record<string, string> = {}) => {
    const r = await run(
      "npx",
      ["--no", "edgeflags", ...args],
      app,
      cleanEnv({ EDGEFLAGS_ACTOR: "pack-test", ...env }),
    );
    times.push([args[0] as string, r.ms]);
    return r;
  };

  // keygen's stdout is the JWKS alone: what `| npx wrangler secret put EDGEFLAGS_PUBLIC_KEYS` reads.
  const keygen = await npx(["keygen", "--public-only", "--out", "key.jwk", "--kid", "pack-key"]);
  expect(keygen.code, keygen.stderr).toBe(0);
  const jwks = JSON.parse(keygen.stdout) as { keys: { kid: string }[] };
  expect(jwks.keys.map((k) => k.kid)).toEqual(["pack-key"]);
  expect(keygen.stdout.trimEnd()).not.toContain("\n");

  writeFileSync(join(app, "flags.yaml"), flagsYaml("Hello from the tarball"));
  writeFileSync(join(app, "broken.yaml"), "flags:\n  a:\n    fallthrough: nope\n");
  // Only recheck's analysis (the one runtime dependency, loaded from the installed tree) refuses this.
  const redos =
    "flags:\n  a:\n    owner: web\n    kind: ops\n    rules:\n      - when: [{ attribute: email, op: matches, values: ['\\d+$'] }]\n        serve: on\n    fallthrough: off\n";
  writeFileSync(join(app, "redos.yaml"), redos);

  const validate = await npx(["validate", "flags.yaml"]);
  expect(validate).toMatchObject({ code: 0, stdout: "✓ flags.yaml is valid: 2 flags\n" });
  const broken = await npx(["validate", "broken.yaml", "--format", "github"]);
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/^::error file=broken\.yaml,line=3,col=18,title=edgeflags validate::/m);
  const slow = await npx(["validate", "redos.yaml"]);
  expect(slow.code, slow.stderr).toBe(1);
  expect(slow.stdout).toMatch(
    /^redos\.yaml:6:\d+: error: unsafe regular expression "\\\\d\+\$": .*polynomial/m,
  );
  const lint = await npx(["lint", "flags.yaml"]);
  expect(lint, lint.stdout).toMatchObject({ code: 0, stdout: "✓ flags.yaml: no lint findings\n" });

  worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: ENV,
      EDGEFLAGS_PUBLIC_KEYS: keygen.stdout,
      PUBLISH_TOKEN: TOKEN,
      REFRESH_INTERVAL_SECONDS: "1",
    },
  });
  const env = {
    EDGEFLAGS_URL: worker.url,
    EDGEFLAGS_ENV: ENV,
    EDGEFLAGS_PUBLISH_TOKEN: TOKEN,
    EDGEFLAGS_PRIVATE_KEY_FILE: "key.jwk",
    EDGEFLAGS_WAIT_TIMEOUT: "20",
  };
  const diff = await npx(["diff", "flags.yaml", "--exit-code"], env);
  expect(diff.code, diff.stderr).toBe(1);
  expect(diff.stdout).toMatch(/^\+ banner$/m);
  const publish = await npx(["publish", "flags.yaml", "--message", "from the tarball", "--json"], env);
  expect(publish.code, publish.stderr).toBe(0);
  expect(JSON.parse(publish.stdout)).toMatchObject({ ok: true, version: 1, confirmed: true });
  const res = await fetch(`${worker.url}/v1/flags?targetingKey=u1`);
  expect(await res.json()).toMatchObject({ version: 1, flags: { banner: "Hello from the tarball" } });
  const after = await npx(["diff", "flags.yaml", "--exit-code"], env);
  expect(after, after.stderr).toMatchObject({ code: 0 });
  expect(after.stdout).toMatch(/^no changes$/m);

  // The local target needs miniflare, which only wrangler brings: a clear usage error, not a stack.
  const local = await npx(["diff", "flags.yaml", "--target", "local"]);
  expect(local.code).toBe(2);
  expect(local.stderr).toMatch(/the local target needs/);

  console.log(`pack-install: ${times.map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`).join(", ")}`);
}, 240_000);
