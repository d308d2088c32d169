/**
 * `edgeflags refs`: the fixture app (test/fixtures/refs-app: TypeScript, JSX, Python, Go, a Jinja
 * template, docs) is copied to a temporary folder, where the test adds what must never be reported
 * and cannot be committed as such: files its .gitignore files exclude, node_modules, a binary file
 * and a file over 1 MiB. Results are pinned as exact file:line:column; the matcher has property tests.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/publisher/cli";
import { type RefsOptions, refsCommand } from "../../src/publisher/commands/refs";
import { EXIT, type Format } from "../../src/publisher/output";
import { compileMatcher, DEFAULT_PATTERNS, scanText, suggestKey } from "../../src/publisher/refs";
import { repoRoot, runCommand } from "./helpers";

const NOW = "2026-06-01"; // old-banner (2025-01-31) and retired-promo (2025-03-01) have expired
const CONFIG = "refs-config.json"; // adds the template's feature_enabled('...') pattern
let app: string;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), "edgeflags-refs-"));
  cpSync(join(repoRoot, "test/fixtures/refs-app"), app, { recursive: true });
  const write = (name: string, content: string | Buffer) => {
    mkdirSync(join(app, name, ".."), { recursive: true });
    writeFileSync(join(app, name), content);
  };
  write("build/bundle.js", 'getBooleanValue("new-checkout");getBooleanValue("gone-flag");'); // .gitignore: build/
  write("debug.log", 'flag "old-banner" evaluated'); // .gitignore: *.log
  write("py/.gitignore", "generated_*.py\n");
  write("py/generated_flags.py", 'FLAGS = ["old-banner", "unused-flag"]\n'); // nested .gitignore
  write("node_modules/sdk/index.js", 'isEnabled("old-banner"); isEnabled("unused-flag");');
  write(
    "assets/logo.png",
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]), Buffer.from('"old-banner"')]),
  );
  write("assets/huge.js", `${"x".repeat(1024 * 1024)}\n"unused-flag"\n`);
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

/** Runs the command the way the CLI's `main` does (format, CliError to exit code). */
function refs(paths: string[], options: RefsOptions & { format?: Format } = {}) {
  return runCommand(
    (ctx) => refsCommand("flags.yaml", paths, { now: NOW, config: CONFIG, ...options }, ctx),
    { cwd: app, format: options.format ?? "text" },
  );
}

const json = async (paths: string[] = [], options: RefsOptions = {}) => {
  const r = await refs(paths, { ...options, format: "json" });
  return { code: r.code, doc: JSON.parse(r.stdout) };
};

const at = (file: string, line: number, column: number) => ({ file, line, column });

describe("the fixture app", () => {
  it("finds every reference at its exact file:line:column, in the flags file's order", async () => {
    const { code, doc } = await json();
    expect(code).toBe(EXIT.problems);
    expect(doc.references).toEqual({
      "new-checkout": [
        at("go/main.go", 11, 54),
        at("src/checkout.ts", 6, 37),
        at("templates/page.html.j2", 5, 34),
      ],
      "old-banner": [at("docs/CHANGELOG.md", 3, 17), at("py/app.py", 11, 13), at("src/checkout.ts", 9, 47)],
      "dark-mode": [at("src/header.jsx", 4, 25), at("templates/page.html.j2", 3, 16)],
      "search-v2": [at("go/main.go", 13, 7), at("py/app.py", 7, 34), at("src/header.jsx", 7, 60)],
      "unused-flag": [],
      "retired-promo": [],
    });
    expect(doc.unreferenced).toEqual(["unused-flag", "retired-promo"]);
    // What was read and what was left out: build/, *.log, py/generated_*.py are gitignored.
    expect(doc).toMatchObject({ scanned: 9, binary: 1, large: 1, ignored: 3, excluded: 0, unreadable: 0 });
  });

  it("reports keys in wrapper calls that are not flags, with the closest key as a suggestion", async () => {
    const { doc } = await json();
    expect(doc.unknown).toEqual([
      { key: "dark-mod", ...at("py/app.py", 9, 43), suggestion: "dark-mode" },
      { key: "new-chekout", ...at("src/checkout.ts", 10, 46), suggestion: "new-checkout" },
      { key: "beta-search", ...at("templates/page.html.j2", 4, 26) },
    ]);
  });

  it("fails on expired flags still in the code, each reference an error on its line", async () => {
    const r = await refs([]);
    expect(r.code).toBe(EXIT.problems);
    const errors = r.stdout.split("\n").filter((l) => l.includes(": error: "));
    expect(errors).toEqual([
      'docs/CHANGELOG.md:3:17: error: flag "old-banner" expired on 2025-01-31 and is still referenced: remove this code path, then the flag [expired-reference]',
      'py/app.py:11:13: error: flag "old-banner" expired on 2025-01-31 and is still referenced: remove this code path, then the flag [expired-reference]',
      'src/checkout.ts:9:47: error: flag "old-banner" expired on 2025-01-31 and is still referenced: remove this code path, then the flag [expired-reference]',
    ]);
    expect(r.stdout).toContain(
      'src/checkout.ts:10:46: warning: "new-chekout" is not a flag in flags.yaml (did you mean "new-checkout"?): a typo or a deleted flag [unknown-flag]',
    );
    expect(r.stdout).toContain(
      'flags.yaml:24:3: warning: flag "unused-flag" has no reference in the scanned code [unreferenced-flag]',
    );
    // retired-promo expired too, but nothing references it: that is not a failure of the code.
    expect(r.stdout).not.toMatch(/retired-promo" expired/);
    expect(r.stdout).toMatch(
      /^11 references to 4 of 6 flags in 9 files scanned \(skipped 1 binary, 1 over 1 MiB\); 3 unknown keys, 1 expired flag still referenced$/m,
    );
  });

  it.each<[string, RefsOptions, number]>([
    ["expired flags referenced", {}, EXIT.problems],
    ["before the expiry, unknown keys only warn", { now: "2025-01-31" }, EXIT.ok],
    ["--strict fails on unknown keys", { now: "2025-01-31", strict: true }, EXIT.problems],
    [
      "the expired reference excluded, strict and no unknown keys",
      { exclude: ["docs/**", "py/**", "src/**", "templates/**"], strict: true },
      EXIT.ok,
    ],
  ])("exit code: %s", async (_, options, code) => {
    expect((await refs([], options)).code).toBe(code);
  });

  it.each<[string, string[], RefsOptions, Record<string, number>]>([
    ["a folder", ["py"], {}, { "search-v2": 1, "old-banner": 1 }],
    ["a file", ["go/main.go"], {}, { "new-checkout": 1, "search-v2": 1 }],
    ["--include by name anywhere", [], { include: ["*.py"] }, { "search-v2": 1, "old-banner": 1 }],
    [
      "--exclude a folder",
      [],
      { exclude: ["docs/**", "go"] },
      { "old-banner": 2, "search-v2": 2, "new-checkout": 2, "dark-mode": 2 },
    ],
    ["a gitignored file named on purpose", ["debug.log"], {}, { "old-banner": 1 }],
    [
      "--no-gitignore",
      [],
      { gitignore: false, include: ["build/**", "*.log", "py/generated_*"] },
      { "old-banner": 2, "unused-flag": 1, "new-checkout": 1 },
    ],
  ])("what is scanned: %s", async (_, paths, options, counts) => {
    const { doc } = await json(paths, options);
    const found = Object.fromEntries(
      Object.entries(doc.references as Record<string, unknown[]>)
        .filter(([, refs]) => refs.length > 0)
        .map(([k, refs]) => [k, refs.length]),
    );
    expect(found).toEqual(counts);
  });

  it("--no-default-patterns: only literals and configured patterns, so SDK-call typos go unseen", async () => {
    const { doc } = await json([], { defaultPatterns: false });
    expect(doc.unknown.map((u: { key: string }) => u.key)).toEqual(["beta-search"]);
    // useFlag("dark-mode") is still found, as a string literal.
    expect(doc.references["dark-mode"]).toEqual([
      at("src/header.jsx", 4, 25),
      at("templates/page.html.j2", 3, 16),
    ]);
  });

  it("--pattern adds a wrapper; a pattern without exactly one group is a usage error", async () => {
    const { doc } = await json(["docs"], { pattern: ['`"([\\w.-]+)"`'] });
    expect(doc.references["old-banner"]).toEqual([at("docs/CHANGELOG.md", 3, 17)]);
    const bad = await refs([], { pattern: ['useFlag\\("[\\w-]+"\\)'] });
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/has 0 capture groups: it needs exactly one/);
    expect((await refs([], { pattern: ["(unclosed"] })).code).toBe(EXIT.usage);
  });

  it("--out writes the reference map for other tools, leaves itself out of the next scan", async () => {
    const first = await refs([], { out: "refs.json" });
    expect(first.stdout).toMatch(/^wrote refs\.json$/m);
    const written = JSON.parse(readFileSync(join(app, "refs.json"), "utf8"));
    expect(written.references["new-checkout"]).toHaveLength(3);
    expect(written.unreferenced).toEqual(["unused-flag", "retired-promo"]);
    const again = await json([], { out: "refs.json" });
    expect(again.doc.references).toEqual(written.references);
    rmSync(join(app, "refs.json"));
  });

  it("--format github: annotations on the code's lines and on the flags file", async () => {
    const r = await refs([], { format: "github" });
    expect(r.code).toBe(EXIT.problems);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("::"));
    expect(lines).toContain(
      '::error file=py/app.py,line=11,col=13,title=edgeflags refs (expired-reference)::flag "old-banner" expired on 2025-01-31 and is still referenced: remove this code path, then the flag',
    );
    expect(lines).toContain(
      '::warning file=py/app.py,line=9,col=43,title=edgeflags refs (unknown-flag)::"dark-mod" is not a flag in flags.yaml (did you mean "dark-mode"?): a typo or a deleted flag',
    );
    expect(lines).toContain(
      '::warning file=flags.yaml,line=28,col=3,title=edgeflags refs (unreferenced-flag)::flag "retired-promo" has no reference in the scanned code',
    );
    expect(lines).toHaveLength(8);
  });

  it("a missing path or flags file is exit 3", async () => {
    const r = await refs(["no-such-dir"]);
    expect(r).toMatchObject({
      code: EXIT.io,
      stderr: expect.stringMatching(/cannot read no-such-dir: no such file/),
    });
  });

  // Runs once cli.ts registers the command (the snippet in the change's notes).
  it("through the CLI, when registered", async (ctx) => {
    let stdout = "";
    const io = {
      stdout: (t: string) => {
        stdout += t;
      },
      stderr: () => {},
      env: {},
      cwd: app,
    };
    await main(["--help"], io);
    if (!/^ {2}refs /m.test(stdout)) ctx.skip();
    stdout = "";
    const code = await main(
      [
        "refs",
        "flags.yaml",
        "--now",
        NOW,
        "--config",
        CONFIG,
        "--exclude",
        "docs/**",
        "--no-default-patterns",
        "--json",
      ],
      io,
    );
    expect(code).toBe(EXIT.problems);
    expect(JSON.parse(stdout).references["old-banner"]).toEqual([
      at("py/app.py", 11, 13),
      at("src/checkout.ts", 9, 47),
    ]);
  });
});

describe("the matcher", () => {
  const KEYS = ["new-checkout", "a", "beta.search_v2"];
  const matcher = compileMatcher(
    KEYS,
    DEFAULT_PATTERNS.map((p) => p.source),
  );
  const hitsOf = (text: string) => scanText(text, matcher).map((h) => `${h.key}@${h.line}:${h.column}`);

  it.each<[string, string, string[]]>([
    ["double quotes", 'x = "new-checkout"', ["new-checkout@1:6"]],
    ["single quotes and backticks", "f('a', `a`)", ["a@1:4", "a@1:9"]],
    ["mismatched quotes are not a literal", "f('new-checkout\")", []],
    ["a longer key that starts like one", '"new-checkout-v2" "xnew-checkout"', []],
    ["an unquoted mention", "new-checkout is on", []],
    ["lines and columns after newlines", '\n\n  "a"\r\n\t"a"', ["a@3:4", "a@4:3"]],
    [
      "an SDK call naming an unknown key",
      'client.getBooleanValue("new-chekout", false)',
      ["new-chekout@1:25"],
    ],
    ["Go's client call", 'c.StringValue(ctx, "beta.search_v2", "")', ["beta.search_v2@1:21"]],
  ])("%s", (_, text, hits) => {
    expect(hitsOf(text)).toEqual(hits);
  });

  const keyArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
  const filler = fc.string({ unit: fc.constantFrom("x", " ", "\n", "(", ")", ";", ",", "=", "é", "\t") });

  it("finds a key embedded in any surrounding text at its exact line and column", () => {
    fc.assert(
      fc.property(keyArb, filler, filler, fc.constantFrom('"', "'", "`"), (key, before, after, q) => {
        const text = `${before}${q}${key}${q}${after}`;
        const offset = before.length + 1;
        const line = before.split("\n").length;
        const column = offset - (before.lastIndexOf("\n") + 1) + 1;
        const hits = scanText(text, compileMatcher([key], [])).filter((h) => h.key === key);
        expect(hits).toEqual([{ key, line, column, known: true }]);
      }),
    );
  });

  it("does not find a key that only appears inside a longer identifier-like string", () => {
    const part = fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/);
    fc.assert(
      fc.property(keyArb, part, part, fc.boolean(), (key, pre, post, both) => {
        const longer = both ? `${pre}${key}${post}` : `${key}${post}`;
        const text = `x = "${longer}"; y = '${pre}${key}'`;
        fc.pre(longer !== key && `${pre}${key}` !== key);
        expect(scanText(text, compileMatcher([key], [])).filter((h) => h.key === key)).toEqual([]);
      }),
    );
  });
});

describe("did you mean", () => {
  const keys = ["new-checkout", "dark-mode", "search-v2", "Beta"];
  it.each<[string, string | undefined]>([
    ["new-chekout", "new-checkout"],
    ["dark_mode", "dark-mode"],
    ["DARK-MODE", "dark-mode"],
    ["beta", "Beta"],
    ["search-v3", "search-v2"],
    ["totally-different", undefined],
  ])("%s -> %s", (unknown, suggestion) => {
    expect(suggestKey(unknown, keys)).toBe(suggestion);
  });
});
