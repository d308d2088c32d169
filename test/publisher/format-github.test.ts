/**
 * `--format github`: validate, lint and diff print GitHub Actions workflow commands that put each
 * problem, finding or change on its line of the flags file, escaped so that no text from the file can
 * end a command or start one of its own. diff runs against the worker in workerd on 127.0.0.1.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { escapeData, escapeProperty, workflowCommand } from "../../src/publisher/output";
import { cli, flagsYaml, type Project, project } from "./helpers";

const VALID_TAIL = "    owner: web\n    kind: ops\n    fallthrough: on\n";

/** The workflow commands on stdout, parsed the way the runner does: `::name props::message`. */
function commands(stdout: string) {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("::"))
    .map((l) => {
      const m = /^::(\w+)(?: ([^:]*))?::(.*)$/.exec(l);
      if (!m) throw new Error(`not a workflow command: ${l}`);
      const props = Object.fromEntries(
        (m[2] ?? "")
          .split(",")
          .filter(Boolean)
          .map((kv) => {
            const [k, v] = kv.split("=") as [string, string];
            return [k, decodeURIComponent(v)];
          }),
      );
      return { level: m[1], props, message: decodeURIComponent(m[3] as string) };
    });
}

describe("workflow command escaping", () => {
  it("escapes %, CR and LF in the message, and : and , too in properties (as @actions/core)", () => {
    expect(escapeData("50% off\r\nnext: a, b")).toBe("50%25 off%0D%0Anext: a, b");
    expect(escapeProperty("a:b,c%d\ne")).toBe("a%3Ab%2Cc%25d%0Ae");
    expect(
      workflowCommand("error", "bad\n::warning::injected", {
        file: "dir,1/f:x.yaml",
        line: 3,
        column: 7,
        title: "edgeflags validate",
      }),
    ).toBe(
      "::error file=dir%2C1/f%3Ax.yaml,line=3,col=7,title=edgeflags validate::bad%0A::warning::injected",
    );
    // A line or column without a file says nothing to GitHub: left out.
    expect(workflowCommand("notice", "n", { line: 3, title: "t" })).toBe("::notice title=t::n");
  });
});

describe("validate --format github", () => {
  let p: Project;
  beforeAll(async () => {
    p = await project({});
  });

  it("one ::error per problem at the same line and column --json gives, then the count", async () => {
    p.write("broken.yaml", "flags:\n  a:\n    fallthrough: nope\n    colour: red\n");
    const r = await cli(["validate", "broken.yaml", "--format", "github"], p.dir);
    expect(r.code).toBe(1);
    const json = await cli(["validate", "broken.yaml", "--json"], p.dir);
    const problems = json.json<{ problems: { line: number; column: number; message: string }[] }>().problems;
    expect(commands(r.stdout)).toEqual(
      problems.map((x) => ({
        level: "error",
        props: {
          file: "broken.yaml",
          line: String(x.line),
          col: String(x.column),
          title: "edgeflags validate",
        },
        message: x.message,
      })),
    );
    expect(r.stdout).toMatch(
      /^::error file=broken\.yaml,line=3,col=18,title=edgeflags validate::fallthrough /m,
    );
    expect(r.stdout.split("\n").filter((l) => l && !l.startsWith("::"))).toEqual([
      "2 problems in broken.yaml",
    ]);
    // No colour codes, ever.
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("text from the file stays text: a literal %0A in a key is not decoded to a line break", async () => {
    p.write("odd.yaml", `flags:\n  "a%0A::error::forged":\n${VALID_TAIL}`);
    const r = await cli(["validate", "odd.yaml", "--format", "github"], p.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('"a%250A::error::forged"');
    expect(commands(r.stdout).map((c) => c.message)).toEqual([
      expect.stringContaining('"a%0A::error::forged"'),
    ]);
  });

  it("names the file relative to GITHUB_WORKSPACE, whatever the cwd", async () => {
    mkdirSync(join(p.dir, "app", "config"), { recursive: true });
    p.write("app/config/flags.yaml", "flags:\n  a:\n    fallthrough: nope\n");
    const r = await cli(["validate", "config/flags.yaml", "--format", "github"], join(p.dir, "app"), {
      GITHUB_WORKSPACE: p.dir,
    });
    expect(commands(r.stdout)[0]?.props.file).toBe("app/config/flags.yaml");
  });

  it("a valid file prints the usual line; a failure of the command is an annotation on the run", async () => {
    p.write("ok.yaml", `flags:\n  a:\n${VALID_TAIL}`);
    expect(await cli(["validate", "ok.yaml", "--format", "github"], p.dir)).toMatchObject({
      code: 0,
      stdout: "✓ ok.yaml is valid: 1 flag\n",
    });
    const missing = await cli(["validate", "nope.yaml", "--format", "github"], p.dir);
    expect(missing).toMatchObject({
      code: 3,
      stdout: "::error title=edgeflags::cannot read nope.yaml: no such file\n",
      stderr: "error: cannot read nope.yaml: no such file\n",
    });
  });

  it("--json and --format github together are a usage error; an unknown format too", async () => {
    const both = await cli(["validate", "ok.yaml", "--json", "--format", "github"], p.dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("error: --json and --format github cannot be used together\n");
    expect((await cli(["validate", "ok.yaml", "--format", "sarif"], p.dir)).code).toBe(2);
    // --format json is --json.
    const asJson = await cli(["validate", "ok.yaml", "--format", "json"], p.dir);
    expect(asJson.json()).toMatchObject({ ok: true, flags: 1 });
  });
});

describe("lint --format github", () => {
  const file = `flags:
  old-release:
    owner: web
    kind: release
    expires: 2020-01-01
    cleanupIssue: "#7"
    fallthrough: off
  kindless:
    owner: web
    fallthrough: on
`;

  it("errors as ::error and warnings as ::warning, titled with the rule; --strict makes warnings errors", async () => {
    const p = await project({});
    p.write("flags.yaml", file);
    const r = await cli(["lint", "flags.yaml", "--format", "github", "--now", "2026-01-01"], p.dir);
    expect(r.code).toBe(1);
    const found = commands(r.stdout);
    expect(found.map((c) => [c.level, c.props.title, c.props.line])).toEqual([
      ["error", "edgeflags lint (expired)", "5"],
      ["warning", "edgeflags lint (missing-kind)", "8"],
    ]);
    expect(found.every((c) => c.props.file === "flags.yaml")).toBe(true);
    expect(r.stdout).toContain("1 error, 1 warning\n");

    p.write("flags.yaml", file.replace("expires: 2020-01-01", "expires: 2099-01-01"));
    const lenient = await cli(["lint", "flags.yaml", "--format", "github"], p.dir);
    expect(lenient.code).toBe(0);
    expect(commands(lenient.stdout).map((c) => c.level)).toEqual(["warning"]);
    const strict = await cli(["lint", "flags.yaml", "--format", "github", "--strict"], p.dir);
    expect(strict.code).toBe(1);
    expect(commands(strict.stdout)).toMatchObject([
      { level: "error", props: { title: "edgeflags lint (missing-kind)" }, message: /--strict/ },
    ]);
  });
});

describe("diff --format github", () => {
  const ENV = "format-github";
  const TOKEN = "format-github-token";
  let worker: LocalWorker;
  let p: Project;

  beforeAll(async () => {
    p = await project({ environment: ENV, publishToken: TOKEN }, "fmt-key");
    worker = await startLocalWorker({
      bindings: {
        EDGEFLAGS_ENV: ENV,
        EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
        PUBLISH_TOKEN: TOKEN,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await worker?.dispose();
  });

  it("a ::notice per added, changed or removed flag, at the line of its first change", async () => {
    const env = { EDGEFLAGS_URL: worker.url };
    const extra = `  gone:
    owner: web
    kind: ops
    fallthrough: on
`;
    p.write("flags.yaml", flagsYaml("Hello", extra));
    const first = await cli(["diff", "flags.yaml", "--format", "github"], p.dir, env);
    expect(first.code, first.stderr).toBe(0);
    expect(commands(first.stdout).map((c) => [c.props.title, c.props.line, c.message])).toEqual([
      ["edgeflags diff (flag added)", "2", "+ banner"],
      ["edgeflags diff (flag added)", "11", "+ checkout"],
      ["edgeflags diff (flag added)", "17", "+ gone"],
    ]);
    const published = await cli(["publish", "flags.yaml", "--no-wait"], p.dir, env);
    expect(published.code, published.stderr).toBe(0);

    // banner's text changes on line 8, checkout gets `enabled: false` on a new line 17, gone goes.
    const text = `${flagsYaml("Bonjour")}    enabled: false\n  added:\n    owner: web\n    kind: ops\n    fallthrough: on\n`;
    p.write("flags.yaml", text);
    const r = await cli(["diff", "flags.yaml", "--format", "github", "--exit-code"], p.dir, env);
    expect(r.code, r.stderr).toBe(1);
    const notes = commands(r.stdout);
    expect(notes.map((c) => [c.level, c.props.title, c.props.line, c.props.col])).toEqual([
      ["notice", "edgeflags diff (flag added)", "18", "3"],
      ["notice", "edgeflags diff (flag removed)", "1", "1"],
      ["notice", "edgeflags diff (flag changed)", "8", "24"],
      ["notice", "edgeflags diff (flag changed)", "17", "14"],
    ]);
    expect(notes[2]?.message).toBe("~ banner\n    variants.shown: Hello -> Bonjour");
    expect(notes[3]?.message).toBe("~ checkout\n    enabled: true -> false");
    expect(r.stdout).toMatch(/^4 flags would change$/m);

    // A value from the file with a line break in it stays inside its notice.
    p.write("flags.yaml", flagsYaml("Hello\n::error::forged", extra));
    const forged = await cli(["diff", "flags.yaml", "--format", "github"], p.dir, env);
    const lines = forged.stdout.split("\n").filter(Boolean);
    expect(lines[0]).toMatch(/^flags\.yaml against version 1 live on /);
    expect(lines.slice(1, -1).every((l) => l.startsWith("::notice file=flags.yaml,"))).toBe(true);
    expect(lines.at(-1)).toBe("1 flag would change");
    expect(commands(forged.stdout)[0]?.message).toMatch(/^~ banner\n(.*\n)*.*::error::forged/);
  }, 60_000);
});
