/**
 * validate, lint and keygen through the CLI, in-process: exit codes and messages for a table of
 * broken files (each problem pinned to file:line:column), and the key file's mode.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, project } from "./helpers";

const p = await project({});

const VALID_TAIL = "    owner: web\n    kind: ops\n    fallthrough: on\n";

describe.each<[string, string, RegExp[]]>([
  ["YAML syntax", "flags:\n  a:\n    fallthrough: [on\n", [/^broken\.yaml:4:1: error: YAML syntax error/m]],
  [
    "unknown variant and unknown field, both reported",
    "flags:\n  a:\n    fallthrough: nope\n    colour: red\n",
    [
      /^broken\.yaml:3:18: error: fallthrough "nope" is not a variant of flag "a"; its variants are: on, off$/m,
      /^broken\.yaml:4:5: error: unknown field "colour"/m,
    ],
  ],
  [
    "duplicate flag key",
    `flags:\n  a:\n${VALID_TAIL}  a:\n${VALID_TAIL}`,
    [/^broken\.yaml:6:3: error: duplicate key "a"/m],
  ],
  ["empty file", "", [/^broken\.yaml:1:1: error: the flags file is empty/m]],
  [
    "segment that does not exist",
    `flags:\n  a:\n    rules:\n      - when: [{ segment: ghosts }]\n        serve: on\n${VALID_TAIL}`,
    [/^broken\.yaml:4:\d+: error: .*ghosts/m],
  ],
])("validate: %s", (_name, text, expected) => {
  it("exits 1 and names file:line:column", async () => {
    p.write("broken.yaml", text);
    const r = await cli(["validate", "broken.yaml"], p.dir);
    expect(r.code).toBe(1);
    for (const re of expected) expect(r.stdout).toMatch(re);
    const json = await cli(["validate", "broken.yaml", "--json"], p.dir);
    expect(json.code).toBe(1);
    expect(json.json<{ problems: { line: number; column: number }[] }>().problems.length).toBe(
      expected.length,
    );
  });
});

describe("validate", () => {
  it("exits 0 for a valid file, 3 for a missing one, 2 for a missing argument", async () => {
    p.write("ok.yaml", `flags:\n  a:\n${VALID_TAIL}`);
    expect(await cli(["validate", "ok.yaml"], p.dir)).toMatchObject({
      code: 0,
      stdout: "✓ ok.yaml is valid: 1 flag\n",
    });
    const missing = await cli(["validate", "nope.yaml"], p.dir);
    expect(missing).toMatchObject({ code: 3, stderr: "error: cannot read nope.yaml: no such file\n" });
    expect((await cli(["validate"], p.dir)).code).toBe(2);
    expect((await cli(["frobnicate"], p.dir)).code).toBe(2);
    expect((await cli(["--help"], p.dir)).code).toBe(0);
  });
});

const NOW = "2026-07-01";

describe.each<[string, string, number, RegExp[]]>([
  [
    "expired release flag fails",
    'flags:\n  old:\n    owner: web\n    kind: release\n    expires: "2026-06-30"\n    fallthrough: on\n',
    1,
    [/^lint\.yaml:5:14: error: release flag "old" expired on 2026-06-30: .* \[expired\]$/m],
  ],
  [
    "a flag expiring today is still fine",
    'flags:\n  today:\n    owner: web\n    kind: release\n    expires: "2026-07-01"\n    cleanupIssue: "#12"\n    fallthrough: off\n',
    0,
    [/no lint findings/],
  ],
  [
    "experiment without owner or expiry fails",
    "flags:\n  exp:\n    kind: experiment\n    fallthrough: on\n",
    1,
    [
      /^lint\.yaml:2:3: error: experiment flag "exp" has no owner.* \[missing-owner\]$/m,
      /^lint\.yaml:2:3: error: experiment flag "exp" has no expires date.* \[missing-expires\]$/m,
    ],
  ],
  [
    "ops flag without owner only warns",
    "flags:\n  killswitch:\n    kind: ops\n    runbook: https://runbooks.example.com/k\n    fallthrough: on\n",
    0,
    [
      /^lint\.yaml:2:3: warning: ops flag "killswitch" has no owner.* \[missing-owner\]$/m,
      /0 errors, 1 warning/,
    ],
  ],
  [
    "unused segment warns",
    `segments:\n  nobody:\n    included: [x]\nflags:\n  a:\n${VALID_TAIL}`,
    0,
    [/^lint\.yaml:2:3: warning: segment "nobody" is not used by any flag.* \[unused-segment\]$/m],
  ],
  [
    "rule after a catch-all rule, and a repeated rule, warn",
    `flags:\n  a:\n    rules:\n      - when: [{ attribute: plan, op: in, values: [pro] }]\n        serve: on\n      - when: [{ attribute: plan, op: in, values: [pro] }]\n        serve: off\n      - when: []\n        serve: on\n      - id: late\n        when: [{ attribute: plan, op: in, values: [free] }]\n        serve: off\n${VALID_TAIL}`,
    0,
    [
      /^lint\.yaml:6:9: warning: rule 2 of "a" can never match: rule 1 has the same conditions and comes first \[unreachable-rule\]$/m,
      /^lint\.yaml:10:9: warning: rule "late" of "a" can never match: rule 3 before it has no conditions/m,
    ],
  ],
  [
    "duplicate targets and shadowing flag keys warn",
    `flags:\n  new-thing:\n    targets: { on: [u1, u2, u1] }\n${VALID_TAIL}  new_thing:\n${VALID_TAIL}`,
    0,
    [
      /^lint\.yaml:3:29: warning: target "u1" is listed twice for variant "on" of "new-thing" \[duplicate-target\]$/m,
      /^lint\.yaml:7:3: warning: flag "new_thing" differs from "new-thing" only in case or separators.* \[shadowed-flag\]$/m,
    ],
  ],
])("lint: %s", (_name, text, code, expected) => {
  it(`exits ${code}`, async () => {
    p.write("lint.yaml", text);
    const r = await cli(["lint", "lint.yaml", "--now", NOW], p.dir);
    expect(r.code, r.stdout).toBe(code);
    for (const re of expected) expect(r.stdout).toMatch(re);
  });
});

describe("lint", () => {
  it("--strict fails on warnings; --json lists findings; invalid files and bad --now are refused", async () => {
    p.write(
      "warn.yaml",
      "flags:\n  k:\n    kind: ops\n    runbook: https://runbooks.example.com/k\n    fallthrough: on\n",
    );
    expect((await cli(["lint", "warn.yaml"], p.dir)).code).toBe(0);
    expect((await cli(["lint", "warn.yaml", "--strict"], p.dir)).code).toBe(1);
    const json = await cli(["lint", "warn.yaml", "--json"], p.dir);
    expect(json.json()).toMatchObject({
      ok: true,
      errors: 0,
      warnings: 1,
      findings: [{ severity: "warning", rule: "missing-owner", line: 2, column: 3 }],
    });
    p.write("bad.yaml", "flags:\n  k:\n    fallthrough: maybe\n");
    const bad = await cli(["lint", "bad.yaml"], p.dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^bad\.yaml:3:18: error: /m);
    expect((await cli(["lint", "warn.yaml", "--now", "someday"], p.dir)).code).toBe(2);
  });

  it("passes the demo flags file that npm start publishes", async () => {
    const r = await cli(
      ["lint", join(import.meta.dirname, "../../examples/demo.flags.yaml"), "--strict"],
      p.dir,
    );
    expect(r.code, r.stdout).toBe(0);
  });
});

describe("keygen", () => {
  it("writes the private key with mode 0600, prints a JWKS the worker accepts, and never overwrites", async () => {
    const r = await cli(["keygen", "--out", "signing.json", "--kid", "ci-2026", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const file = join(p.dir, "signing.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const priv = JSON.parse(readFileSync(file, "utf8"));
    expect(priv).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: "ci-2026", d: expect.any(String) });
    const { publicKeys } = r.json<{ publicKeys: { keys: Record<string, unknown>[] } }>();
    expect(publicKeys.keys).toEqual([
      { kty: "OKP", crv: "Ed25519", x: priv.x, kid: "ci-2026", alg: "EdDSA", use: "sig" },
    ]);
    const again = await cli(["keygen", "--out", "signing.json"], p.dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect(readFileSync(file, "utf8")).toBe(JSON.stringify(priv, null, 2) + "\n");
  });

  it("defaults the kid to the thumbprint prefix and prints both keys without --out", async () => {
    const r = await cli(["keygen"], p.dir);
    expect(r.code).toBe(0);
    // stdout holds only the keys (the private JWK, then the JWKS on its last line); comments go to stderr.
    const lines = r.stdout.trimEnd().split("\n");
    const pubText = lines.pop();
    const priv = JSON.parse(lines.join("\n"));
    expect(priv.kid).toMatch(/^[\w-]{16}$/);
    expect(JSON.parse(pubText as string).keys[0].kid).toBe(priv.kid);
    expect(r.stderr).toMatch(/^# private key .*\n# public keys /);
    expect((await cli(["keygen", "--kid", "has space"], p.dir)).code).toBe(2);
  });

  it("--public-only: stdout is exactly the JWKS, for `| wrangler secret put`; --key re-derives it", async () => {
    const r = await cli(["keygen", "--public-only", "--out", "piped.json", "--kid", "pipe-1"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const priv = JSON.parse(readFileSync(join(p.dir, "piped.json"), "utf8"));
    const jwks = {
      keys: [{ kty: "OKP", crv: "Ed25519", x: priv.x, kid: "pipe-1", alg: "EdDSA", use: "sig" }],
    };
    /** One line of JSON and nothing else. */
    const only = (stdout: string) =>
      stdout.endsWith("\n") && !stdout.slice(0, -1).includes("\n") ? JSON.parse(stdout) : stdout;
    expect(only(r.stdout)).toEqual(jwks);
    expect(r.stderr).toMatch(/^✓ private key pipe-1 written to .*piped\.json \(mode 0600\)/);
    // The public keys of a key made earlier, without making a new one.
    const again = await cli(["keygen", "--public-only", "--key", "piped.json"], p.dir);
    expect(again.code).toBe(0);
    expect(only(again.stdout)).toEqual(jwks);
    expect(only((await cli(["keygen", "--key", "piped.json"], p.dir)).stdout)).toEqual(jwks);
  });

  it("--public-only never puts a private key on stdout: without --out or --key it is a usage error", async () => {
    const r = await cli(["keygen", "--public-only"], p.dir);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/--public-only .* --out FILE/);
    expect((await cli(["keygen", "--key", "piped.json", "--out", "other.json"], p.dir)).code).toBe(2);
    expect((await cli(["keygen", "--key", "missing.json"], p.dir)).code).toBe(3);
    p.write(
      "nokid.json",
      JSON.stringify({ ...JSON.parse(readFileSync(join(p.dir, "piped.json"), "utf8")), kid: undefined }),
    );
    const noKid = await cli(["keygen", "--key", "nokid.json"], p.dir);
    expect(noKid, noKid.stderr).toMatchObject({ code: 2, stdout: "" });
  });
});
