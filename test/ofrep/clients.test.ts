/**
 * The worker driven by the real OpenFeature OFREP providers from npm (server and web), served by
 * workerd on 127.0.0.1: values, variants, reasons, not-found handling and code defaults.
 */
import { readFileSync } from "node:fs";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature as ServerOpenFeature } from "@openfeature/server-sdk";
import { OpenFeature as WebOpenFeature } from "@openfeature/web-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { publishTo } from "../../scripts/lib/snapshots";
import { parseFlagsFile } from "../../src/flags/parse";
import type { FlagsDocument } from "../../src/flags/types";
import { snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, signSnapshot } from "../../src/snapshot/sign";
import { checkoutAndBanner } from "../fixtures/sample-flags";

const keys = JSON.parse(readFileSync(new URL("../fixtures/keys.json", import.meta.url), "utf8"));

const flags: FlagsDocument = {
  flags: {
    ...checkoutAndBanner,
    "max-items": {
      clientVisible: true,
      variants: { low: 5, high: 50 },
      offVariant: "low",
      fallthrough: "high",
    },
    theme: {
      clientVisible: true,
      variants: { dark: { bg: "#000", fg: "#fff" }, light: { bg: "#fff", fg: "#000" } },
      offVariant: "light",
      fallthrough: "dark",
    },
    "server-secret": { fallthrough: "on" },
  },
};

let worker: LocalWorker;
let empty: LocalWorker;
const bindings = {
  EDGEFLAGS_ENV: "ofrep",
  EDGEFLAGS_PUBLIC_KEYS: JSON.stringify({ keys: [keys.primary.public] }),
  PUBLISH_TOKEN: "ofrep-token",
  SERVER_API_KEYS: "server-key",
};

beforeAll(async () => {
  [worker, empty] = await Promise.all([
    startLocalWorker({ bindings, cf: { country: "DE", continent: "EU" } }),
    startLocalWorker({ bindings }),
  ]);
  const jws = await signSnapshot(
    snapshotPayload(flags, { environment: "ofrep", version: 1 }),
    await importSigningKey(keys.primary.private),
  );
  // Throws unless the intake answers 201.
  await publishTo(`${worker.url}/v1/snapshot`, jws, "ofrep-token");
}, 30_000);

afterAll(async () => {
  await Promise.all([worker?.dispose(), empty?.dispose(), ServerOpenFeature.close(), WebOpenFeature.close()]);
});

describe("@openfeature/ofrep-provider with @openfeature/server-sdk", () => {
  it("evaluates values, variants and reasons, with the edge's geo", async () => {
    await ServerOpenFeature.setProviderAndWait(
      "edge",
      new OFREPProvider({ baseUrl: worker.url, headers: { "X-API-Key": "server-key" } }),
    );
    const client = ServerOpenFeature.getClient("edge");
    const ent = await client.getBooleanDetails("new-checkout", false, {
      targetingKey: "u1",
      plan: "enterprise",
    });
    expect(ent).toMatchObject({
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
      flagMetadata: { ruleId: "enterprise" },
    });
    const free = await client.getBooleanDetails("new-checkout", true, { targetingKey: "u1", plan: "free" });
    expect(free).toMatchObject({ value: false, variant: "off", reason: "DEFAULT" });
    expect(await client.getStringDetails("banner-text", "x", { targetingKey: "u1" })).toMatchObject({
      value: "Hallo",
      variant: "hallo",
    });
    expect(await client.getNumberValue("max-items", 0, { targetingKey: "u1" })).toBe(50);
    expect(await client.getObjectValue("theme", {}, { targetingKey: "u1" })).toEqual({
      bg: "#000",
      fg: "#fff",
    });
    expect(await client.getBooleanValue("server-secret", false, { targetingKey: "u1" })).toBe(true);
  });

  it("returns the code default with FLAG_NOT_FOUND for unknown flags and TYPE_MISMATCH for wrong types", async () => {
    const client = ServerOpenFeature.getClient("edge");
    const missing = await client.getBooleanDetails("does-not-exist", true, { targetingKey: "u1" });
    expect(missing).toMatchObject({ value: true, reason: "ERROR", errorCode: "FLAG_NOT_FOUND" });
    const wrongType = await client.getNumberDetails("banner-text", 7, { targetingKey: "u1" });
    expect(wrongType).toMatchObject({ value: 7, reason: "ERROR", errorCode: "TYPE_MISMATCH" });
  });

  it("hides server-only flags from callers without an API key", async () => {
    await ServerOpenFeature.setProviderAndWait("anon", new OFREPProvider({ baseUrl: worker.url }));
    const client = ServerOpenFeature.getClient("anon");
    const hidden = await client.getBooleanDetails("server-secret", false, { targetingKey: "u1" });
    expect(hidden).toMatchObject({ value: false, errorCode: "FLAG_NOT_FOUND" });
  });

  it("falls back to code defaults when the worker has no snapshot yet", async () => {
    await ServerOpenFeature.setProviderAndWait("empty", new OFREPProvider({ baseUrl: empty.url }));
    const d = await ServerOpenFeature.getClient("empty").getBooleanDetails("new-checkout", true, {
      targetingKey: "u1",
    });
    expect(d).toMatchObject({ value: true, reason: "ERROR" });
  });
});

describe("@openfeature/ofrep-web-provider with @openfeature/web-sdk", () => {
  it("bulk-evaluates client-visible flags once and serves them from its cache", async () => {
    await WebOpenFeature.setContext("web", { targetingKey: "visitor-1", plan: "enterprise" });
    await WebOpenFeature.setProviderAndWait(
      "web",
      new OFREPWebProvider({
        baseUrl: worker.url,
        pollInterval: 0,
        cacheMode: "disabled",
        changeDetection: "none",
      }),
    );
    const client = WebOpenFeature.getClient("web");
    expect(client.getBooleanDetails("new-checkout", false)).toMatchObject({
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
    });
    expect(client.getStringValue("banner-text", "x")).toBe("Hallo");
    expect(client.getObjectValue("theme", {})).toEqual({ bg: "#000", fg: "#fff" });
    const secret = client.getBooleanDetails("server-secret", false);
    expect(secret).toMatchObject({ value: false, errorCode: "FLAG_NOT_FOUND" });
    expect(client.getBooleanDetails("nope", true)).toMatchObject({
      value: true,
      errorCode: "FLAG_NOT_FOUND",
    });
  });

  it("re-evaluates when the context changes", async () => {
    await WebOpenFeature.setContext("web", { targetingKey: "visitor-1", plan: "free" });
    expect(WebOpenFeature.getClient("web").getBooleanValue("new-checkout", true)).toBe(false);
  });

  it("serves code defaults when the worker has no snapshot", async () => {
    await WebOpenFeature.setContext("web-empty", { targetingKey: "visitor-2" });
    await WebOpenFeature.setProviderAndWait(
      "web-empty",
      new OFREPWebProvider({
        baseUrl: empty.url,
        pollInterval: 0,
        cacheMode: "disabled",
        changeDetection: "none",
      }),
    ).catch(() => {});
    const d = WebOpenFeature.getClient("web-empty").getBooleanDetails("new-checkout", true);
    expect(d).toMatchObject({ value: true, reason: "ERROR" });
  });
});

describe("the README's OFREP snippets, with the demo flags npm start publishes", () => {
  let demo: LocalWorker;
  const demoBindings = { ...bindings, EDGEFLAGS_ENV: "development", SERVER_API_KEYS: "dev-server-key" };
  const publishDemo = async (version: number, edit: (doc: FlagsDocument) => void = () => {}) => {
    const { document } = parseFlagsFile(
      readFileSync(new URL("../../examples/demo.flags.yaml", import.meta.url), "utf8"),
      "demo.flags.yaml",
    );
    edit(document as FlagsDocument);
    const jws = await signSnapshot(
      snapshotPayload(document as FlagsDocument, { environment: "development", version }),
      await importSigningKey(keys.primary.private),
    );
    // Throws unless the intake answers 201.
    await publishTo(`${demo.url}/v1/snapshot`, jws, "ofrep-token");
  };
  beforeAll(async () => {
    demo = await startLocalWorker({ bindings: demoBindings });
    await publishDemo(1);
  }, 30_000);
  afterAll(() => demo?.dispose());

  it("server: the API key unlocks the server-only search-backend-v2; without it, the code default", async () => {
    await ServerOpenFeature.setProviderAndWait(
      "readme-server",
      new OFREPProvider({ baseUrl: demo.url, headers: { "X-API-Key": "dev-server-key" } }),
    );
    const client = ServerOpenFeature.getClient("readme-server");
    expect(await client.getBooleanValue("search-backend-v2", false, { targetingKey: "user-1" })).toBe(true);
    await ServerOpenFeature.setProviderAndWait("readme-nokey", new OFREPProvider({ baseUrl: demo.url }));
    expect(
      await ServerOpenFeature.getClient("readme-nokey").getBooleanDetails("search-backend-v2", false, {
        targetingKey: "user-1",
      }),
    ).toMatchObject({ value: false, errorCode: "FLAG_NOT_FOUND" });
  });

  it("web: with pollInterval an open page sees a kill without a reload", async () => {
    await WebOpenFeature.setContext("readme-web", { targetingKey: "user-1" });
    await WebOpenFeature.setProviderAndWait(
      "readme-web",
      // As the README has it (pollInterval, change detection left at its default), only faster.
      new OFREPWebProvider({ baseUrl: demo.url, pollInterval: 100, cacheMode: "disabled" }),
    );
    const client = WebOpenFeature.getClient("readme-web");
    expect(client.getBooleanValue("demo-flag", false)).toBe(true);
    await publishDemo(2, (doc) => {
      (doc.flags["demo-flag"] as { enabled?: boolean }).enabled = false;
    });
    await expect
      .poll(() => client.getBooleanValue("demo-flag", true), { timeout: 3_000, interval: 50 })
      .toBe(false);
  });
});
