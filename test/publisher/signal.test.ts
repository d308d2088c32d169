/**
 * The publisher and the version signal, against the worker in workerd on 127.0.0.1 (with and without
 * its beacon): the intake's announcement shows in the report, the "live" figure is the time until
 * /healthz serves the version, and the kv-api target's notify call announces, refuses forgeries and
 * never fails a publish.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { notifyWorker, withNotify } from "../../src/publisher/targets/notify";
import type { Target } from "../../src/publisher/targets/target";
import { workerTarget } from "../../src/publisher/targets/worker";
import { cli, flagsYaml, type Project, project } from "./helpers";

const ENV = "signal-e2e";
const TOKEN = "signal-publish-token";
let withBeacon: LocalWorker;
let kvOnly: LocalWorker;
let p: Project;

function configure(url: string) {
  const config = {
    url,
    environment: ENV,
    publishToken: TOKEN,
    privateKeyFile: "key.json",
    waitTimeoutSeconds: 10,
  };
  writeFileSync(join(p.dir, ".edgeflags", "config.json"), JSON.stringify(config));
}

beforeAll(async () => {
  p = await project({ environment: ENV }, "signal-key");
  const bindings = {
    EDGEFLAGS_ENV: ENV,
    EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
    PUBLISH_TOKEN: TOKEN,
    SIGNAL_INTERVAL_SECONDS: "2",
  };
  [withBeacon, kvOnly] = await Promise.all([
    startLocalWorker({ bindings }),
    startLocalWorker({ bindings, beacon: false }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([withBeacon?.dispose(), kvOnly?.dispose()]);
});

describe("publish through the worker intake", () => {
  it("reports the time until /healthz serves it, and the signal's bound for other locations", async () => {
    configure(withBeacon.url);
    const r = await cli(["publish", p.write("a.yaml", flagsYaml("Hello"))], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/version signal was not updated/);
    expect(r.stdout).toMatch(
      /served \d+ ms after the push; other locations within ~3 s \(version signal every 2 s\)/,
    );
    const json = await cli(["publish", p.write("b.yaml", flagsYaml("Hallo")), "--json"], p.dir);
    const report = json.json<{
      servedAfterMs: number;
      signal: { status: string };
      steps: { step: string; ms: number }[];
    }>();
    expect(report.signal).toEqual({ status: "announced" });
    const liveStep = report.steps.find((s) => s.step === "live")?.ms as number;
    expect(Math.abs(report.servedAfterMs - liveStep)).toBeLessThan(5);
    const health = (await (await fetch(`${withBeacon.url}/healthz`)).json()) as {
      version: number;
      signal: { enabled: boolean };
    };
    expect(health).toMatchObject({ version: 2, signal: { enabled: true } });
  });

  it("warns when the worker has no beacon, and says other locations follow KV", async () => {
    configure(kvOnly.url);
    const r = await cli(["publish", p.write("c.yaml", flagsYaml("Hej"))], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the version signal was not updated \(off\)/);
    expect(r.stdout).toMatch(/other locations as KV propagates/);
  });
});

describe("notify (the kv-api target's announcement)", () => {
  it("announces a snapshot the worker verifies; refuses a tampered one and a wrong token without throwing", async () => {
    const jws = (await workerTarget({ url: withBeacon.url, token: TOKEN }).live()).jws as string;
    expect(await notifyWorker(jws, { url: withBeacon.url, token: TOKEN })).toEqual({ status: "announced" });

    const [head, body, sig] = jws.split(".");
    const tampered = `${head}.${body}x.${sig}`;
    const refused = await notifyWorker(tampered, { url: withBeacon.url, token: TOKEN });
    expect(refused.status).toBe("failed");
    expect(refused.message).toMatch(/422/);
    expect((await notifyWorker(jws, { url: withBeacon.url, token: "wrong" })).message).toMatch(/401/);
  });

  it("is skipped without a worker URL and fails soft when the worker is unreachable", async () => {
    expect((await notifyWorker("x", { url: undefined, token: TOKEN })).status).toBe("skipped");
    const down = await notifyWorker("x", { url: "http://127.0.0.1:9", token: TOKEN, timeoutMs: 2000 });
    expect(down.status).toBe("failed");
  });

  it("follows every successful push of a wrapped target, and not a refused one", async () => {
    const jws = (await workerTarget({ url: withBeacon.url, token: TOKEN }).live()).jws as string;
    let refuse = false;
    const inner = {
      push: async () => {
        if (refuse) throw new Error("refused");
        return { version: 2 };
      },
    } as unknown as Target;
    const wrapped = withNotify(inner, { url: withBeacon.url, token: TOKEN });
    expect(await wrapped.push(jws)).toEqual({ version: 2, signal: { status: "announced" } });
    refuse = true;
    await expect(wrapped.push(jws)).rejects.toThrow("refused");
  });
});
