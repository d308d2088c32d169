/**
 * The readable diff and history end to end, against the worker in workerd: a rollout change shows as
 * `rules[eu-only].serve.split.on: 10 -> 20` in diff, publish and history (before and after in JSON),
 * a kill and its undoing read `enabled: true -> false` and `false -> true`, `--flag` and `--since`
 * filter, and a record from before directions were recorded still reads as it did.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorker } from "../../scripts/lib/local-worker";
import { workerTarget } from "../../src/publisher/targets/worker";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { cli, type Project, workerProject } from "./helpers";

const ENV = "history";
const TOKEN = "history-publish-token";
let worker: LocalWorker;
let p: Project;

/** `new-checkout` rolls out to `on` percent in Europe; `new-pricing-page` says `pricing`. */
const flags = (on: number, pricing = "Pricing v2.") => `flags:
  new-checkout:
    owner: payments
    kind: ops
    rules:
      - id: eu-only
        when:
          - { attribute: geo.continent, op: in, values: [EU] }
        serve: { split: { on: ${on}, off: ${100 - on} } }
    fallthrough: off
  new-pricing-page:
    owner: web
    kind: ops
    description: ${pricing}
    fallthrough: on
`;

beforeAll(async () => {
  ({ p, worker } = await workerProject(ENV, TOKEN, "history-key"));
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

interface Change {
  path: string;
  before?: unknown;
  after?: unknown;
}
interface HistoryRow {
  version: number;
  actor: string;
  message: string | null;
  changes: { changed: { flag: string; changes: Change[] }[]; text: string } | null;
}

describe("a rollout change, a kill and its undoing, as diff, publish and history tell them", () => {
  const rollout = [
    "~ new-checkout",
    "    rules[eu-only].serve.split.on: 10 -> 20",
    "    rules[eu-only].serve.split.off: 90 -> 80",
    "~ new-pricing-page",
    "    description: Pricing v2. -> Pricing v3.",
  ].join("\n");

  it("diff shows the rule's weights by path in text, and before and after in JSON", async () => {
    const v1 = await cli(["publish", p.write("v1.yaml", flags(10)), "--message", "start at 10%"], p.dir);
    expect(v1.code, v1.stderr).toBe(0);
    const file = p.write("v2.yaml", flags(20, "Pricing v3."));

    const text = await cli(["diff", file], p.dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`against version 1 live on worker ${worker.url}:\n${rollout}\n`);

    const json = (await cli(["diff", file, "--json"], p.dir)).json<{
      changed: boolean;
      diff: { flags: { changed: { key: string; fields: string[]; changes: Change[] }[] } };
      changes: { changed: { flag: string; changes: Change[] }[] };
    }>();
    expect(json.changed).toBe(true);
    expect(json.diff.flags.changed[0]).toEqual({
      key: "new-checkout",
      fields: ["rules"],
      changes: [
        { path: "rules[eu-only].serve.split.on", before: 10, after: 20 },
        { path: "rules[eu-only].serve.split.off", before: 90, after: 80 },
      ],
    });
    // What publishing would sign into the audit block: the same, values being short.
    expect(json.changes.changed[0]?.changes).toEqual(json.diff.flags.changed[0]?.changes);
  });

  it("publish, kill and publishing the file again each print what they changed", async () => {
    const file = join(p.dir, "v2.yaml");
    const v2 = await cli(["publish", file, "--message", "EU to 20%"], p.dir);
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.stdout).toContain(`published version 2 (was 1) to ${ENV}: live, 2 changed (`);
    expect(v2.stdout).toContain(rollout.replace(/^/gm, "  "));

    const kill = await cli(["kill", "new-pricing-page", "--reason", "pricing bug"], p.dir);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toContain("1 changed (new-pricing-page: enabled true -> false)\n");
    expect(kill.stdout).toContain("  ~ new-pricing-page\n      enabled: true -> false\n");

    const again = await cli(["publish", file, "--message", "pricing fixed"], p.dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("  ~ new-pricing-page\n      enabled: false -> true\n");
  });

  it("history says who, when, why and each change's direction; --json has before and after", async () => {
    const text = await cli(["history"], p.dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^v4 {2}\S+ {2}test-actor {2}pricing fixed\n {4}~ new-pricing-page\n {8}enabled: false -> true\n/,
    );
    expect(text.stdout).toMatch(
      /\nv3 {2}\S+ {2}test-actor {2}kill new-pricing-page: pricing bug\n {4}~ new-pricing-page\n {8}enabled: true -> false\n/,
    );
    expect(text.stdout).toMatch(
      /\nv2 {2}\S+ {2}test-actor {2}EU to 20%\n {4}~ new-checkout\n {8}rules\[eu-only\]\.serve\.split\.on: 10 -> 20\n/,
    );
    expect(text.stdout).toMatch(
      /\nv1 {2}\S+ {2}test-actor {2}start at 10%\n {4}\+ new-checkout\n {4}\+ new-pricing-page\n/,
    );

    const { records } = (await cli(["history", "--json"], p.dir)).json<{ records: HistoryRow[] }>();
    expect(records.map((r) => r.version)).toEqual([4, 3, 2, 1]);
    const enabled = (r: HistoryRow | undefined) =>
      r?.changes?.changed.find((c) => c.flag === "new-pricing-page");
    expect(enabled(records[0])?.changes).toEqual([{ path: "enabled", before: false, after: true }]);
    expect(enabled(records[1])?.changes).toEqual([{ path: "enabled", before: true, after: false }]);
    expect(records[1]?.changes?.text).toBe("1 changed (new-pricing-page: enabled true -> false)");
  });

  it("--flag keeps the versions that touch the flag and shows only its changes", async () => {
    const pricing = await cli(["history", "--flag", "new-pricing-page", "--json"], p.dir);
    expect(pricing.json<{ records: HistoryRow[] }>().records.map((r) => r.version)).toEqual([4, 3, 2, 1]);
    const checkout = await cli(["history", "--flag", "new-checkout"], p.dir);
    expect(checkout.code, checkout.stderr).toBe(0);
    expect(checkout.stdout).not.toMatch(/^v[34] /m);
    expect(checkout.stdout).toMatch(
      /^v2 .*EU to 20%\n {4}~ new-checkout\n {8}rules\[eu-only\]\.serve\.split\.on: 10 -> 20\n {8}rules\[eu-only\]\.serve\.split\.off: 90 -> 80\n {4}\(also changed: new-pricing-page\)\n/m,
    );
    expect(checkout.stdout).not.toContain("description: Pricing v2. -> Pricing v3.");
    const none = await cli(["history", "--flag", "nope", "--json"], p.dir);
    expect(none.json()).toMatchObject({ records: [], filter: { flag: "nope", since: null }, scanned: 4 });
  });

  it("--since keeps what was published since a duration ago or a date; anything else is a usage error", async () => {
    const day = await cli(["history", "--since", "1d", "--flag", "new-checkout", "--json"], p.dir);
    expect(day.json<{ records: HistoryRow[] }>().records.map((r) => r.version)).toEqual([2, 1]);
    const future = await cli(["history", "--since", "2099-01-01"], p.dir);
    expect(future.code).toBe(0);
    expect(future.stdout).toMatch(/^no publishes match on worker .* \(searched the newest 4\)\n$/);
    const bad = await cli(["history", "--since", "last week"], p.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since takes a duration like 7d/);
  });

  it("a version published before directions were recorded reads as it did", async () => {
    const target = workerTarget({ url: worker.url, token: TOKEN });
    const live = await target.live();
    const { flags: document } = JSON.parse(Buffer.from(live.jws!.split(".")[1]!, "base64url").toString());
    const changes = {
      added: [],
      removed: [],
      changed: [{ flag: "new-pricing-page", fields: ["enabled"] }],
      text: "1 changed (new-pricing-page: enabled)",
    };
    const payload = snapshotPayload(document, {
      environment: ENV,
      version: 5,
      sourceDigest: "sha256:old",
      audit: { actor: "old-publisher", changes },
    });
    await target.push(await signSnapshot(payload, await importSigningKey(p.keys.privateJwk)));
    const r = await cli(["history", "--limit", "1"], p.dir);
    expect(r.stdout).toMatch(/^v5 {2}\S+ {2}old-publisher\n {4}1 changed \(new-pricing-page: enabled\)\n$/);
    const flagged = await cli(["history", "--flag", "new-pricing-page", "--limit", "2", "--json"], p.dir);
    expect(flagged.json<{ records: HistoryRow[] }>().records.map((x) => x.version)).toEqual([5, 4]);
  });
});
