/**
 * `edgeflags report`: the fixture app (test/fixtures/report-app) has a flag in every category across
 * three owners and none; its Markdown is pinned as a file snapshot (--offline, --now), its JSON by
 * structure. The serving analysis and "since when" have table tests, evaluation counts plug in
 * through the builder, and against the worker in workerd the history gives "fully rolled out since".
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import type { FlagDefinition } from "../../src/flags/types";
import { type ReportOptions, reportCommand } from "../../src/publisher/commands/report";
import {
  buildReport,
  changesServing,
  MAX_REFERENCES,
  NO_EVALUATION_COUNTS,
  renderMarkdown,
  type Serving,
  type ServingSince,
  type StaleReport,
  servingOf,
  servingSince,
} from "../../src/publisher/report";
import type { HistoryRecord } from "../../src/publisher/targets/target";
import type { ChangeSummary } from "../../src/snapshot/format";
import { cli, type Project, repoRoot, runCommand, workerProject } from "./helpers";

const NOW = "2026-06-01";
const DAY_MS = 86_400_000;
/** A copy of the fixture app outside the repository, so no .edgeflags/config.json above it applies. */
let APP: string;

beforeAll(() => {
  APP = mkdtempSync(join(tmpdir(), "edgeflags-report-app-"));
  cpSync(join(repoRoot, "test/fixtures/report-app"), APP, { recursive: true });
});
afterAll(() => rmSync(APP, { recursive: true, force: true }));

/** Runs the command the way the CLI's `main` does, in `cwd` (default the fixture app). */
function report(
  paths: string[],
  options: ReportOptions & { json?: boolean } = {},
  cwd?: string,
  env: Record<string, string> = {},
) {
  return runCommand(
    (ctx) => reportCommand("flags.yaml", paths, { now: NOW, offline: true, ...options }, ctx),
    { cwd: cwd ?? APP, format: options.json ? "json" : "text", env },
  );
}

const reportJson = async (paths: string[] = [], options: ReportOptions = {}) => {
  const r = await report(paths, { ...options, json: true });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StaleReport & { ok: boolean };
};

describe("the report of the fixture app (offline, as of 2026-06-01)", () => {
  it("is Markdown grouped by owner with a summary table (file snapshot)", async () => {
    const r = await report([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    await expect(r.stdout).toMatchFileSnapshot("__snapshots__/report.md");
  });

  it("has every category in its JSON, grouped by owner, owners sorted and (no owner) last", async () => {
    const doc = await reportJson();
    expect(doc.ok).toBe(true);
    expect(doc.summary).toEqual({
      expired: 2,
      "past-lifetime": 3,
      "ready-to-remove": 4,
      "not-evaluated": null,
      unreferenced: 2,
    });
    expect(doc.evaluations).toEqual({
      known: false,
      note: "unknown (--offline)",
    });
    expect(doc.history).toEqual({ read: false, why: "--offline" });
    expect(doc.total).toBe(8);
    const grouped = doc.owners.map((o) => [o.owner, o.flags.map((f) => f.key)]);
    expect(grouped).toEqual([
      ["growth", ["search-backend"]],
      ["payments", ["old-checkout", "pay-later"]],
      ["web", ["dark-mode", "legacy-nav"]],
      [null, ["promo-banner"]],
    ]);
    const flag = (key: string) => doc.owners.flatMap((o) => o.flags).find((f) => f.key === key);
    const categories = (key: string) => flag(key)?.findings.map((f) => f.category);
    expect(categories("old-checkout")).toEqual(["expired", "past-lifetime", "ready-to-remove"]);
    expect(categories("pay-later")).toEqual(["past-lifetime"]);
    expect(categories("dark-mode")).toEqual(["ready-to-remove"]);
    expect(categories("legacy-nav")).toEqual(["unreferenced"]);
    expect(categories("search-backend")).toEqual(["past-lifetime", "ready-to-remove"]);
    expect(categories("promo-banner")).toEqual(["expired", "ready-to-remove", "unreferenced"]);
    // Healthy: an old ops kill switch left on, a permission flag with targets.
    expect(flag("payments-kill")).toBeUndefined();
    expect(flag("admin-tools")).toBeUndefined();

    const old = flag("old-checkout");
    expect(old?.findings[0]).toMatchObject({ category: "expired", expires: "2026-01-31", daysAgo: 121 });
    expect(old?.findings[2]).toMatchObject({
      category: "ready-to-remove",
      variant: "on",
      state: "rolled-out",
      since: null,
      days: null,
    });
    expect(old?.findings[2]?.reason).toBe(
      'serves "on" to everyone (fully rolled out), unknown since: --offline',
    );
    expect(old?.references).toHaveLength(12);
    expect(old?.references?.[0]).toEqual({ file: "py/receipts.py", line: 5, column: 24 });
    expect(old).toMatchObject({ owner: "payments", kind: "release", created: "2025-10-01", ageDays: 243 });
    expect(flag("dark-mode")?.findings[0]).toMatchObject({ variant: "off", state: "off" });
    expect(flag("search-backend")?.findings[1]).toMatchObject({ variant: "new", state: "rolled-out" });
    expect(flag("pay-later")?.findings[0]).toMatchObject({ ageDays: 182, lifetimeDays: 90 });
    expect(flag("promo-banner")).toMatchObject({ owner: null, created: null, ageDays: null, references: [] });
  });

  it("caps the references to delete at ten, then says how many more", async () => {
    const r = await report([]);
    const section = r.stdout.slice(r.stdout.indexOf("### `old-checkout`"));
    const listed = section.slice(0, section.indexOf("###", 5)).match(/^ {2}- `[^`]+:\d+`$/gm) ?? [];
    expect(listed).toHaveLength(MAX_REFERENCES);
    expect(section).toContain("  - and 2 more\n");
  });

  it("takes the lifetime from lint.staleAfterDays and N from --days", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeflags-report-"));
    try {
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ lint: { staleAfterDays: 200 } }));
      const doc = await reportJson([], { config, days: "7" });
      expect(doc.staleAfterDays).toBe(200);
      expect(doc.days).toBe(7);
      // search-backend (502 days) and old-checkout (243) are still past 200 days; pay-later (182) is not.
      expect(doc.summary["past-lifetime"]).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the references from a `refs --out` file instead of scanning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeflags-report-"));
    try {
      const refsFile = join(dir, "refs.json");
      const refs = await cli(["refs", "flags.yaml", "--out", refsFile, "--now", NOW], APP);
      expect(refs.code, refs.stderr).toBe(1); // expired flags still referenced fail refs, not report
      const scanned = await reportJson();
      const fromFile = await reportJson([], { refs: refsFile });
      expect(fromFile).toEqual(scanned);

      // A flag the file does not list has unknown references: never "unreferenced".
      writeFileSync(refsFile, JSON.stringify({ references: { "old-checkout": [] } }));
      const partial = await reportJson([], { refs: refsFile });
      expect(partial.summary.unreferenced).toBe(1);
      const md = await report([], { refs: refsFile });
      expect(md.stdout).toContain("- Code references: unknown (not in the references file)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes the Markdown with --out and prints the JSON with --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeflags-report-"));
    try {
      const file = join(dir, "report.md");
      const text = await report([], { out: file });
      expect(text.code).toBe(0);
      expect(text.stdout).toBe(`wrote ${file}: 6 of 8 flags need attention\n`);
      const md = readFileSync(file, "utf8");
      expect(md).toBe((await report([])).stdout);
      const json = await report([], { out: file, json: true });
      expect(JSON.parse(json.stdout).summary.expired).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails only on broken input: bad --days, --refs with paths, a missing --refs file, an invalid flags file", async () => {
    expect((await report([], { days: "0" })).code).toBe(2);
    expect((await report(["src"], { refs: "refs.json" })).stderr).toContain("not both");
    expect((await report([], { refs: "missing.json" })).code).toBe(3);
    const dir = mkdtempSync(join(tmpdir(), "edgeflags-report-"));
    try {
      writeFileSync(join(dir, "flags.yaml"), "flags:\n  x: { fallthrough: nope }\n");
      expect((await report([], {}, dir)).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says 'unknown since' with the reason when the history cannot be read, and still exits 0", async () => {
    // Nothing listens on port 9: the worker cannot be reached.
    const r = await report([], { offline: false, url: "http://127.0.0.1:9", json: true }, undefined, {
      EDGEFLAGS_PUBLISH_TOKEN: "t",
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: history not read, "since" dates are unknown:');
    expect(r.stderr).not.toContain("publish token");
    const doc = JSON.parse(r.stdout) as StaleReport;
    expect(doc.history.read).toBe(false);
    const ready = doc.owners.flatMap((o) => o.flags).flatMap((f) => f.findings);
    expect(
      ready.filter((f) => f.category === "ready-to-remove").every((f) => /unknown since/.test(f.reason)),
    ).toBe(true);
  });
});

describe("what a flag serves (servingOf)", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const flag = (f: Partial<FlagDefinition>): FlagDefinition => ({ fallthrough: "off", ...f });
  describe.each<[string, FlagDefinition, Serving]>([
    ["a plain off fallthrough", flag({}), { single: true, variant: "off", state: "off" }],
    [
      "a plain on fallthrough",
      flag({ fallthrough: "on" }),
      { single: true, variant: "on", state: "rolled-out" },
    ],
    [
      "disabled, whatever its rules",
      flag({ enabled: false, fallthrough: "on", rules: [{ when: [], serve: "on" }] }),
      { single: true, variant: "off", state: "off" },
    ],
    [
      "disabled with its own off variant",
      flag({ enabled: false, variants: { a: 1, b: 2 }, offVariant: "b", fallthrough: "a" }),
      { single: true, variant: "b", state: "off" },
    ],
    [
      "a fallthrough naming the off variant",
      flag({ variants: { a: 1, b: 2 }, offVariant: "b", fallthrough: "b" }),
      { single: true, variant: "b", state: "off" },
    ],
    [
      "a split with 100% on one variant",
      flag({ fallthrough: { split: { on: 100, off: 0 } } }),
      { single: true, variant: "on", state: "rolled-out" },
    ],
    [
      "a split written as a list, 100% off",
      flag({
        fallthrough: {
          split: [
            { variant: "on", weight: 0 },
            { variant: "off", weight: 7 },
          ],
        },
      }),
      { single: true, variant: "off", state: "off" },
    ],
    [
      "a 50/50 split",
      flag({ fallthrough: { split: { on: 50, off: 50 } } }),
      { single: false, why: "splits traffic between variants" },
    ],
    [
      "a progressive split whose last step (past) is 100%",
      flag({
        fallthrough: {
          split: { on: 10, off: 90 },
          steps: [{ at: "2026-03-01T00:00:00Z", split: { on: 100 } }],
        },
      }),
      { single: true, variant: "on", state: "rolled-out", from: "2026-03-01T00:00:00Z" },
    ],
    [
      "a progressive split with a step ahead",
      flag({
        fallthrough: {
          split: { on: 100 },
          steps: [{ at: "2026-07-01T00:00:00Z", split: { on: 50, off: 50 } }],
        },
      }),
      { single: false, why: "a progressive rollout has steps ahead" },
    ],
    ["rules", flag({ rules: [{ when: [], serve: "on" }] }), { single: false, why: "has rules" }],
    [
      "individual targets",
      flag({ targets: { on: ["ada"] } }),
      { single: false, why: "has individual targets" },
    ],
    ["empty target lists", flag({ targets: { on: [] } }), { single: true, variant: "off", state: "off" }],
    ["a geo rule", flag({ geo: { block: { countries: ["DE"] } } }), { single: false, why: "has a geo rule" }],
    [
      "a schedule",
      flag({ schedule: { from: "2026-01-01T00:00:00Z" } }),
      { single: false, why: "has a schedule" },
    ],
    [
      "prerequisites",
      flag({ prerequisites: [{ flag: "x", variants: ["on"] }] }),
      { single: false, why: "has prerequisites" },
    ],
  ])("%s", (_name, definition, expected) => {
    it("is as expected", () => expect(servingOf(definition, now)).toEqual(expected));
  });
});

describe("since when a flag serves as it does (servingSince)", () => {
  const changes = (c: Partial<ChangeSummary>): ChangeSummary => ({
    added: [],
    removed: [],
    changed: [],
    text: "",
    ...c,
  });
  const rec = (version: number, day: string, c: ChangeSummary | null): HistoryRecord => ({
    version,
    environment: "e",
    issuedAt: `${day}T12:00:00.000Z`,
    actor: "a",
    message: null,
    sourceDigest: "d",
    kid: "k",
    changes: c,
    verified: true,
  });
  const touchX = changes({ changed: [{ flag: "x", fields: ["fallthrough"] }] });
  const metaX = changes({ changed: [{ flag: "x", fields: ["description", "expires"] }] });
  const other = changes({ changed: [{ flag: "y", fields: ["enabled"] }] });
  describe.each<[string, HistoryRecord[], boolean, ServingSince]>([
    [
      "the newest record changing it",
      [
        rec(3, "2026-05-01", other),
        rec(2, "2026-04-01", touchX),
        rec(1, "2026-03-01", changes({ added: ["x"] })),
      ],
      true,
      { known: true, at: "2026-04-01T12:00:00.000Z", version: 2 },
    ],
    [
      "a metadata-only change does not count",
      [rec(2, "2026-04-01", metaX), rec(1, "2026-03-01", changes({ added: ["x"] }))],
      true,
      { known: true, at: "2026-03-01T12:00:00.000Z", version: 1 },
    ],
    [
      "no record touching it in a truncated history: at least the oldest read",
      [rec(9, "2026-05-01", other), rec(8, "2026-04-01", other)],
      false,
      { known: true, at: "2026-04-01T12:00:00.000Z", version: 8, atLeast: true },
    ],
    [
      "no record touching it in the whole history",
      [rec(1, "2026-04-01", other)],
      true,
      { known: false, why: "not published yet" },
    ],
    ["nothing published", [], true, { known: false, why: "nothing is published" }],
    [
      "a newer record that does not verify",
      [
        { version: 3, environment: "e", verified: false, reason: "bad signature" },
        rec(2, "2026-04-01", touchX),
      ],
      true,
      { known: false, why: "version 3 does not verify (bad signature)" },
    ],
    [
      "a newer record without a change summary",
      [rec(3, "2026-05-01", null), rec(2, "2026-04-01", touchX)],
      true,
      { known: false, why: "version 3 recorded no change summary" },
    ],
    [
      "an unverifiable record older than the change does not matter",
      [rec(3, "2026-05-01", touchX), { version: 2, environment: "e", verified: false, reason: "gone" }],
      true,
      { known: true, at: "2026-05-01T12:00:00.000Z", version: 3 },
    ],
  ])("%s", (_name, records, complete, expected) => {
    it("is as expected", () => expect(servingSince(records, "x", complete)).toEqual(expected));
  });

  it("counts a removal and an addition as a change", () => {
    expect(changesServing(changes({ removed: ["x"] }), "x")).toBe(true);
    expect(changesServing(changes({ added: ["x"] }), "x")).toBe(true);
    expect(changesServing(metaX, "x")).toBe(false);
  });
});

describe("building the report (buildReport)", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const flags: Record<string, FlagDefinition> = {
    a: { owner: "o", kind: "release", fallthrough: "on" },
    b: { owner: "o", kind: "release", fallthrough: { split: { on: 50, off: 50 } } },
  };
  const history = (day: string) => ({
    read: true as const,
    where: "test",
    complete: true,
    records: [
      {
        version: 1,
        environment: "e",
        issuedAt: `${day}T00:00:00.000Z`,
        actor: null,
        message: null,
        sourceDigest: "d",
        kid: "k",
        changes: { added: ["a", "b"], removed: [], changed: [], text: "" },
        verified: true as const,
      },
    ],
  });
  const build = (input: Partial<Parameters<typeof buildReport>[0]>, days = 30) =>
    buildReport(
      {
        file: "flags.yaml",
        flags,
        references: new Map([
          ["a", [{ file: "x.ts", line: 1, column: 1 }]],
          ["b", [{ file: "x.ts", line: 2, column: 1 }]],
        ]),
        history: history("2026-04-01"),
        evaluations: NO_EVALUATION_COUNTS,
        ...input,
      },
      { now, days, staleAfterDays: 90 },
    );

  it("lists a flag serving one variant for N days with the date, and not before", () => {
    const ready = build({}).owners[0]?.flags[0]?.findings[0];
    expect(ready).toEqual({
      category: "ready-to-remove",
      reason: 'serves "on" to everyone (fully rolled out) since 2026-04-01 (61 days)',
      variant: "on",
      state: "rolled-out",
      since: "2026-04-01",
      days: 61,
    });
    expect(build({}, 62).owners).toEqual([]);
    expect(build({ history: history("2026-05-20") }).summary["ready-to-remove"]).toBe(0);
  });

  const counted = (since: string | null, last: [string, string][] = []) => ({
    known: true as const,
    lastEvaluated: new Map(last),
    countingSince: since,
  });

  it("plugs evaluation counts in: not for N days is a finding, recently is not", () => {
    const report = build({
      evaluations: counted("2026-01-01T00:00:00Z", [
        ["a", "2026-05-30T10:00:00Z"],
        ["b", "2026-04-15T10:00:00Z"],
      ]),
    });
    expect(report.summary["not-evaluated"]).toBe(1);
    expect(report.evaluations).toEqual({ known: true, countingSince: "2026-01-01T00:00:00Z" });
    const b = report.owners[0]?.flags.find((f) => f.key === "b");
    expect(b?.findings).toEqual([
      {
        category: "not-evaluated",
        reason: "last evaluated 2026-04-15 (46 days ago)",
        lastEvaluated: "2026-04-15T10:00:00Z",
      },
    ]);
  });

  // now is 2026-06-01T00:00Z; N = 30 days.
  it.each([
    [
      "counting for 60 days",
      "2026-04-02T00:00:00Z",
      2,
      "never evaluated since counting began on 2026-04-02 (60 days)",
    ],
    [
      "counting for exactly 30 days",
      "2026-05-02T00:00:00Z",
      2,
      "never evaluated since counting began on 2026-05-02 (30 days)",
    ],
    ["counting for 29 days", "2026-05-02T00:00:01Z", 0, undefined],
    ["counting for an hour", "2026-05-31T23:00:00Z", 0, undefined],
    ["nothing counted yet", null, 0, undefined],
  ])("a flag the counts never saw, %s: %s", (_name, since, listed, reason) => {
    const report = build({ evaluations: counted(since) });
    expect(report.summary["not-evaluated"]).toBe(listed);
    const a = report.owners.flatMap((o) => o.flags).find((f) => f.key === "a");
    const finding = a?.findings.find((f) => f.category === "not-evaluated");
    expect(finding?.reason).toBe(reason);
    if (finding) expect(finding).toMatchObject({ lastEvaluated: null });
  });

  it("says where the counts come from and since when in the Markdown", () => {
    const md = renderMarkdown(
      build({ evaluations: { ...counted("2026-04-01T00:00:00Z"), where: "worker http://w" } }),
    );
    expect(md).toContain("Evaluations: counted by worker http://w since 2026-04-01.");
    expect(renderMarkdown(build({}))).toContain("Evaluations: unknown (no evaluation counts were read).");
  });
});

describe("against the worker in workerd: the history dates 'fully rolled out since'", () => {
  const ENV = "report";
  const TOKEN = "report-publish-token";
  let worker: LocalWorker;
  let p: Project;

  /** `search` is a migration at `split`; `other` is a migration with a rule. */
  const flags = (split: string, description = "Search backend.") => `flags:
  search:
    owner: growth
    kind: migration
    description: ${description}
    dashboard: https://dash.example.com/search
    fallthrough: { split: ${split} }
  other:
    owner: growth
    kind: migration
    clientVisible: true
    rules:
      - when: [{ attribute: beta, op: equals, values: [true] }]
        serve: on
    fallthrough: off
`;

  beforeAll(async () => {
    ({ p, worker } = await workerProject(ENV, TOKEN, "report-key"));
  }, 60_000);
  afterAll(async () => {
    await worker?.dispose();
  });

  it("gives the publish that made it 100% as the date; a later metadata-only publish does not move it", async () => {
    const publish = async (text: string, message: string) => {
      const r = await cli(["publish", p.write("flags.yaml", text), "--message", message], p.dir);
      expect(r.code, r.stderr).toBe(0);
    };
    await publish(flags("{ on: 50, off: 50 }"), "half");
    await publish(flags("{ on: 100, off: 0 }"), "all");
    await publish(flags("{ on: 100, off: 0 }", "Search backend, done."), "describe");
    const history = await cli(["history", "--json"], p.dir);
    const records = history.json<{ records: { version: number; issuedAt: string }[] }>().records;
    const allAt = records.find((r) => r.version === 2)?.issuedAt as string;

    // Today: rolled out for 0 days, not ready yet; the history was read.
    const today = await report([], { offline: false, json: true, now: new Date().toISOString() }, p.dir);
    expect(today.code, today.stderr).toBe(0);
    const doc = JSON.parse(today.stdout) as StaleReport;
    expect(doc.history).toEqual({ read: true, where: `worker ${worker.url}`, records: 3 });
    expect(doc.summary["ready-to-remove"]).toBe(0);

    // 40 days on: ready, since the "all" publish (version 2), not the metadata edit (version 3).
    const later = new Date(Date.parse(allAt) + 40 * DAY_MS).toISOString();
    const on = await report([], { offline: false, json: true, now: later }, p.dir);
    const ready = (JSON.parse(on.stdout) as StaleReport).owners[0]?.flags.find((f) => f.key === "search");
    expect(ready?.findings).toContainEqual(
      expect.objectContaining({
        category: "ready-to-remove",
        variant: "on",
        since: allAt.slice(0, 10),
        days: 40,
        reason: `serves "on" to everyone (fully rolled out) since ${allAt.slice(0, 10)} (40 days)`,
      }),
    );
  }, 60_000);

  it("reads when each flag was last evaluated from the worker's counts", async () => {
    await cli(["publish", p.write("flags.yaml", flags("{ on: 100, off: 0 }")), "--message", "counts"], p.dir);
    const res = await fetch(`${worker.url}/v1/flags/other`);
    expect(res.status).toBe(200);
    await res.body?.cancel();
    const notEvaluated = async (now: string) => {
      const r = await report([], { offline: false, json: true, now }, p.dir);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as StaleReport;
      const found = doc.owners
        .flatMap((o) => o.flags)
        .flatMap((f) =>
          f.findings.filter((x) => x.category === "not-evaluated").map((x) => [f.key, x.reason]),
        );
      return { doc, found };
    };
    // Today: "other" was just evaluated; "search" never was, but counting has only just begun.
    const today = await notEvaluated(new Date().toISOString());
    expect(today.doc.evaluations).toMatchObject({ known: true, where: `worker ${worker.url}` });
    const since = (today.doc.evaluations as { countingSince: string }).countingSince;
    expect(Date.now() - Date.parse(since)).toBeLessThan(10 * 60_000);
    expect(today.doc.summary["not-evaluated"]).toBe(0);
    // 31 days on (no evaluations since): both, each with its own reason.
    const later = await notEvaluated(new Date(Date.now() + 31 * DAY_MS).toISOString());
    expect(later.doc.summary["not-evaluated"]).toBe(2);
    expect(Object.fromEntries(later.found)).toEqual({
      other: expect.stringMatching(/^last evaluated \d{4}-\d\d-\d\d \(3[01] days ago\)$/),
      search: expect.stringMatching(
        /^never evaluated since counting began on \d{4}-\d\d-\d\d \(3[01] days\)$/,
      ),
    });
  }, 60_000);
});
