/**
 * Confirming a publish through /healthz: the version, the environment it is for, and the progress
 * lines a wait writes (what is served meanwhile, or that the worker does not answer).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError } from "../../src/publisher/output";
import { type ProgressFactory, startProgress } from "../../src/publisher/progress";
import { waitUntilLive } from "../../src/publisher/wait";

let health: Record<string, unknown> = {};
/** When set, /healthz answers this instead of `health` until the time given. */
let before: { until: number; body: Record<string, unknown> } | undefined;
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(before && Date.now() < before.until ? before.body : health));
});

/** Plain progress lines (as on a pipe), collected, at a fast pace: a first line after 100 ms, then every 100 ms. */
function plainLines(): { lines: string[]; progress: ProgressFactory } {
  const lines: string[] = [];
  return {
    lines,
    progress: (label) => startProgress((t) => lines.push(t), label, { delayMs: 100, everyMs: 100 }),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
let url = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

describe("waitUntilLive", () => {
  it("confirms once the worker serves the version (or a newer one) for the environment", async () => {
    health = { environment: "production", version: 8, signal: { enabled: true, intervalSeconds: 2 } };
    expect(await waitUntilLive(url, "production", 7, 1000)).toEqual({ version: 8, signalIntervalSeconds: 2 });
  });

  it("refuses at once to confirm from a worker that serves another environment (exit 1)", async () => {
    health = { environment: "staging", version: 99 };
    const err = await waitUntilLive(url, "production", 7, 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toMatch(/serves the environment staging/);
  });

  it("gives up after the timeout while an older version is served (exit 3)", async () => {
    health = { environment: "production", version: 6 };
    const err = await waitUntilLive(url, "production", 7, 300, { intervalMs: 50 }).catch((e: unknown) => e);
    expect((err as CliError).exitCode).toBe(3);
    expect((err as CliError).message).toMatch(/still reports version 6/);
  });

  it("writes a plain progress line every interval (not every poll) with what is served meanwhile", async () => {
    health = { environment: "production", version: 7 };
    before = { until: Date.now() + 450, body: { environment: "production", version: 6 } };
    const { lines, progress } = plainLines();
    await waitUntilLive(url, "production", 7, 5000, { intervalMs: 20, progress });
    before = undefined;
    // ~20 polls, but one line per 100 ms from 100 ms on: 3 or 4 of them, each a whole line.
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBeLessThanOrEqual(5);
    for (const line of lines)
      expect(line).toMatch(/^waiting for the worker to serve version 7\.\.\. \d s \(serving 6\)\n$/);
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(lines).toHaveLength(count); // nothing after the wait ended
  });

  it("says while it retries a worker that does not answer, then gives up (exit 3)", async () => {
    const port = await closedPort();
    const { lines, progress } = plainLines();
    const err = await waitUntilLive(`http://127.0.0.1:${port}`, "production", 7, 350, {
      intervalMs: 50,
      progress,
    }).catch((e: unknown) => e);
    expect((err as CliError).exitCode).toBe(3);
    expect((err as CliError).message).toMatch(/still reports no answer \(ECONNREFUSED\)/);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toBe(
      `waiting for the worker to serve version 7... 0 s (no answer from http://127.0.0.1:${port}: ECONNREFUSED; retrying)\n`,
    );
  });
});
