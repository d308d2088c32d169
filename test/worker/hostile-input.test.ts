/**
 * Hostile input inside workerd: a huge flag key gets a short answer, not itself echoed back, and a
 * signed snapshot carrying a catastrophic regex (from a publisher that did not check it) is refused.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import { SnapshotError } from "../../src/snapshot/errors";
import { loadKeyRing } from "../../src/snapshot/keys";
import { verifySnapshot } from "../../src/snapshot/verify";
import { ENVIRONMENT, fixtureKeys, harness, ofrepInit, publishToKv, sampleFlags, snapshot } from "./helpers";

const ENV = "hostile";
beforeAll(async () => {
  await publishToKv(await snapshot({ environment: ENV, version: 3 }), ENV);
});
const h = () => harness({ EDGEFLAGS_ENV: ENV });

const HUGE = "k".repeat(30_000);

describe("a flag key longer than any flag name", () => {
  it("gets a short OFREP 404, its key cut with an ellipsis", async () => {
    const res = await h().fetch(`/ofrep/v1/evaluate/flags/${HUGE}`, ofrepInit({ targetingKey: "u" }));
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text.length).toBeLessThan(1024);
    const cut = `${"k".repeat(255)}…`;
    expect(JSON.parse(text)).toEqual({
      key: cut,
      errorCode: "FLAG_NOT_FOUND",
      errorDetails: `flag ${JSON.stringify(cut)} was not found`,
    });
  });

  it("gets a short /v1 404", async () => {
    const res = await h().fetch(`/v1/flags/${HUGE}?targetingKey=u`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text.length).toBeLessThan(1024);
    expect(JSON.parse(text)).toEqual({
      error: "flag_not_found",
      message: `no flag named ${JSON.stringify(`${"k".repeat(255)}…`)}`,
    });
  });

  it("is answered before the body is read or anything is evaluated", async () => {
    const key = "k".repeat(129);
    const res = await h().fetch(`/ofrep/v1/evaluate/flags/${key}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "not json",
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ key, errorCode: "FLAG_NOT_FOUND" });
  });

  it("leaves keys of a possible length as they were: evaluated, echoed whole", async () => {
    const key = "k".repeat(128);
    const res = await h().fetch(`/ofrep/v1/evaluate/flags/${key}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "not json",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ key, errorCode: "PARSE_ERROR" });
    const v1 = await h().fetch(`/v1/flags/${key}?targetingKey=u`);
    expect(await v1.json()).toEqual({ error: "flag_not_found", message: `no flag named "${key}"` });
  });
});

describe("a signed snapshot with a catastrophic regex", () => {
  const flags: FlagsDocument = {
    flags: {
      ...sampleFlags.flags,
      redos: {
        clientVisible: true,
        rules: [{ when: [{ attribute: "email", op: "matches", values: ["(a+)+$"] }], serve: "on" }],
        fallthrough: "off",
      },
    },
  };

  it("is refused by verification: compile will not build it", async () => {
    const keys = await loadKeyRing({ keys: [fixtureKeys.primary.public] });
    const jws = await snapshot({ flags, version: 4 });
    const refusal = await verifySnapshot(jws, { keys, environment: ENVIRONMENT, now: Date.now() }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(SnapshotError);
    expect(refusal).toMatchObject({ code: "ERR_SNAPSHOT_SCHEMA" });
    expect((refusal as Error).message).toContain('nested repetition "(a+)+"');
  });

  it("is never served", async () => {
    const env = "hostile-regex";
    await publishToKv(await snapshot({ environment: env, flags, version: 1 }), env);
    const res = await harness({ EDGEFLAGS_ENV: env }).fetch(
      `/v1/flags?targetingKey=u&email=${"a".repeat(40)}!`,
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "no_snapshot" });
  });
});
