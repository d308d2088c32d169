/**
 * `edgeflags stats` against the worker in workerd (its real aggregator Durable Object): --json, the
 * plain table (per-minute rows when a flag is named), the sparkline on a terminal, and the errors -
 * wrong token, no URL, a bad --since, an unreachable worker - with their exit codes. The rendering
 * helpers are pinned by tables.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import type { StatsAnswer } from "../../src/observe/types";
import { columns, perMinute, sparkline, summaryTable } from "../../src/publisher/stats/render";
import { cli, type Project, workerProject } from "./helpers";

const ENV = "stats";
const TOKEN = "stats-publish-token";
let worker: LocalWorker;
let p: Project;

const FLAGS = `flags:
  new-checkout:
    owner: payments
    kind: ops
    clientVisible: true
    rules:
      - id: pro
        when:
          - { attribute: plan, op: in, values: [pro] }
        serve: on
    fallthrough: off
  banner:
    owner: web
    kind: ops
    clientVisible: true
    fallthrough: on
`;

/** The CLI in-process with stdout a terminal (as bin/edgeflags.mjs says when process.stdout.isTTY). */
const onTerminal = (argv: string[], cwd: string) => cli(argv, cwd, {}, { stdoutTTY: true });

beforeAll(async () => {
  ({ p, worker } = await workerProject(ENV, TOKEN, "stats-key"));
  const published = await cli(["publish", p.write("flags.yaml", FLAGS)], p.dir);
  expect(published.code, published.stderr).toBe(0);
  // 6 visitors on pro, 9 on free: each GET /v1/flags serves both flags once.
  for (let i = 0; i < 15; i++) {
    const res = await fetch(`${worker.url}/v1/flags?targetingKey=u${i}&plan=${i < 6 ? "pro" : "free"}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  // Outcome events from three pro visitors (served "on"), attributed to new-checkout only: 3 errors
  // and a conversion, the conversion claiming the "off" variant (ignored).
  for (let i = 0; i < 3; i++) {
    const events = [
      { name: "error" },
      ...(i === 0 ? [{ name: "conversion", details: { variant: "off" } }] : []),
    ];
    const res = await fetch(`${worker.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({
        events,
        context: { targetingKey: `u${i}`, plan: "pro" },
        flags: ["new-checkout"],
      }),
    });
    expect(res.status).toBe(204);
  }
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("edgeflags stats", () => {
  it("--json: the worker's per-variant counts, reasons and last evaluated time", async () => {
    const r = await cli(["stats", "--json"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const body = r.json<StatsAnswer & { ok: boolean }>();
    expect(body.ok).toBe(true);
    expect(body.environment).toBe(ENV);
    const byFlag = Object.fromEntries(body.flags.map((f) => [f.key, f]));
    expect(byFlag["new-checkout"]!.variants.map((v) => [v.variant, v.total, v.reasons])).toEqual([
      ["off", 9, { DEFAULT: 9 }],
      ["on", 6, { TARGETING_MATCH: 6 }],
    ]);
    expect(byFlag.banner!.total).toBe(15);
    expect(byFlag["new-checkout"]!.variants.map((v) => [v.variant, v.outcomes])).toEqual([
      ["off", {}],
      ["on", { error: 3, conversion: 1 }],
    ]);
    expect(Date.parse(byFlag.banner!.lastEvaluated as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("prints a plain table when stdout is not a terminal, with per-minute rows for one flag", async () => {
    const all = await cli(["stats"], p.dir);
    expect(all.code, all.stderr).toBe(0);
    const [table, guards] = all.stdout.trimEnd().split("\n\n");
    const lines = table!.split("\n");
    // The guards' state follows the counts (none declared here).
    expect(guards).toBe("guards: none armed (version 1)");
    expect(lines[0]).toBe(`${ENV}: evaluations of every flag in the last 1h on worker ${worker.url}`);
    expect(lines[1]).toMatch(/^flag +variant +total +errors +error_rate +events +reasons +last_evaluated$/);
    expect(lines.slice(2).map((l) => l.split(/ {2,}/).slice(0, 7))).toEqual([
      ["banner", "on", "15", "0", "0.0%", "-", "STATIC=15"],
      ["new-checkout", "off", "9", "0", "0.0%", "-", "DEFAULT=9"],
      ["new-checkout", "on", "6", "3", "50.0%", "conversion=1", "TARGETING_MATCH=6"],
    ]);
    expect(all.stdout).not.toMatch(/[▁▂▃▄▅▆▇█]/);

    const one = await cli(["stats", "new-checkout", "--since", "90m"], p.dir);
    expect(one.code, one.stderr).toBe(0);
    const minutes = one.stdout.split("\n\n")[1]!.trimEnd().split("\n");
    expect(minutes[0]).toMatch(/^minute +flag +variant +count$/);
    const counted = minutes.slice(1).map((l) => l.split(/ +/));
    expect(counted.every(([at]) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/.test(at!))).toBe(true);
    expect(counted.reduce((n, c) => n + Number(c[3]), 0)).toBe(15);
  });

  it("draws a sparkline per variant on a terminal", async () => {
    const r = await onTerminal(["stats", "new-checkout"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/new-checkout {2}last evaluated \S+ \(\d+ s ago\)/);
    const off = r.stdout.split("\n").find((l) => l.startsWith("  off"));
    expect(off).toMatch(/^ {2}off {2}9 {2}[ ▁▂▃▄▅▆▇█]{61} {2}DEFAULT 9$/);
    expect(off).toContain("█");
    const on = r.stdout.split("\n").find((l) => l.startsWith("  on"));
    expect(on).toMatch(/TARGETING_MATCH 6 {2}errors 3 \(50\.0%\), conversion 1$/);
    expect(r.stdout).toContain("one column = 1 minute(s)");
  });

  it.each([
    ["a wrong token", ["stats"], { EDGEFLAGS_STATS_TOKEN: "nope" }, 1, "refused the token"],
    ["a bad --since", ["stats", "--since", "3d"], {}, 2, "--since takes a duration from 1m to 24h"],
    ["an unreachable worker", ["stats", "--url", "http://127.0.0.1:9"], {}, 3, "cannot reach the worker"],
  ] as [
    string,
    string[],
    Record<string, string>,
    number,
    string,
  ][])("fails with %s", async (_, argv, env, code, message) => {
    const r = await cli(argv, p.dir, env);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it("fails with a usage error without a worker URL", async () => {
    const r = await cli(["stats"], mkdtempSync(join(tmpdir(), "edgeflags-stats-")));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no worker URL");
  });

  it("--json reports a failure as one JSON document", async () => {
    const r = await cli(["stats", "--json"], p.dir, { EDGEFLAGS_STATS_TOKEN: "nope" });
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, exitCode: 1 });
  });
});

describe("rendering", () => {
  it.each([
    [[0, 1, 2, 4, 8], " ▁▂▄█"],
    [[5, 5, 0], "██ "],
    [[0, 0], "  "],
    [[1, 100], "▁█"],
  ])("sparkline(%j) is %j", (values, line) => {
    expect(sparkline(values)).toBe(line);
  });

  it("spreads sparse minutes over the range and sums them into at most 72 columns", () => {
    const from = "2026-05-01T10:00:00.000Z";
    const to = "2026-05-01T10:03:00.000Z";
    expect(
      perMinute(
        [
          ["2026-05-01T10:01:00.000Z", 3],
          ["2026-05-01T10:03:00.000Z", 1],
        ],
        from,
        to,
      ),
    ).toEqual([0, 3, 0, 1]);
    const day = new Array(1441).fill(1);
    const c = columns(day);
    expect(c.minutes).toBe(21);
    expect(c.values.length).toBeLessThanOrEqual(72);
    expect(c.values.reduce((a, b) => a + b, 0)).toBe(1441);
  });

  it("lists a flag that was never evaluated in the table", () => {
    const answer: StatsAnswer = {
      environment: "e",
      from: "2026-05-01T10:00:00.000Z",
      to: "2026-05-01T11:00:00.000Z",
      bucketSeconds: 60,
      countingSince: null,
      flags: [{ key: "quiet", lastEvaluated: null, total: 0, variants: [] }],
    };
    expect(summaryTable(answer)).toEqual([
      "flag   variant  total  errors  error_rate  events  reasons  last_evaluated",
      "quiet  -        0      0       -           -       -        never",
    ]);
  });
});
