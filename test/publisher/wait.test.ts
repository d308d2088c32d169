/** Confirming a publish through /healthz: the version, and the environment it is for. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError } from "../../src/publisher/output";
import { waitUntilLive } from "../../src/publisher/wait";

let health: Record<string, unknown> = {};
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(health));
});
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
    const err = await waitUntilLive(url, "production", 7, 300, 50).catch((e: unknown) => e);
    expect((err as CliError).exitCode).toBe(3);
    expect((err as CliError).message).toMatch(/still reports version 6/);
  });
});
