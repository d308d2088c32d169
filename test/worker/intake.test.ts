/** The publisher's snapshot intake, inside workerd: auth, media type, size, trust and monotonic versions. */
import { describe, expect, it } from "vitest";
import { harness, snapshot, testEnv } from "./helpers";

const put = (body: string, token = "test-publish-token", type = "application/jose") => ({
  method: "PUT",
  headers: { authorization: `Bearer ${token}`, "content-type": type },
  body,
});

describe("PUT /v1/snapshot", () => {
  it("is off without a PUBLISH_TOKEN", async () => {
    const res = await harness({ EDGEFLAGS_ENV: "in-off", PUBLISH_TOKEN: "" }).fetch("/v1/snapshot", put("x"));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "intake_disabled", message: expect.any(String) });
  });

  it("refuses a wrong or missing token with 401", async () => {
    const h = harness({ EDGEFLAGS_ENV: "in-auth" });
    expect((await h.fetch("/v1/snapshot", put("x", "wrong"))).status).toBe(401);
    expect((await h.fetch("/v1/snapshot", { method: "PUT", body: "x" })).status).toBe(401);
  });

  it("refuses a wrong content type with 415 and an oversized body with 413", async () => {
    const jws = await snapshot({ environment: "in-type" });
    const h = harness({ EDGEFLAGS_ENV: "in-type" });
    expect((await h.fetch("/v1/snapshot", put(jws, undefined, "application/json"))).status).toBe(415);
    const small = harness({ EDGEFLAGS_ENV: "in-type", MAX_SNAPSHOT_BYTES: "200" });
    const res = await small.fetch("/v1/snapshot", put(jws));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: "payload_too_large",
      message: "the request body is too large",
    });
  });

  it("accepts a newer snapshot, writes KV and serves it at once; refuses older, equal and forged ones", async () => {
    const environment = "in-flow";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const v1 = await snapshot({ environment, version: 1 });
    const ok = await h.fetch("/v1/snapshot", put(v1));
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({ accepted: true, environment, version: 1, flags: 4 });
    expect(await testEnv.FLAGS.get(`snapshot/${environment}/current`)).toBe(v1);
    expect(await testEnv.FLAGS.get(`snapshot/${environment}/v/0000000001`)).toBe(v1);
    expect(((await (await h.fetch("/v1/flags?targetingKey=u")).json()) as { version: number }).version).toBe(
      1,
    );

    const same = await h.fetch("/v1/snapshot", put(v1));
    expect(same.status).toBe(409);
    expect(await same.json()).toMatchObject({
      error: "conflict",
      code: "ERR_SNAPSHOT_ROLLBACK",
      liveVersion: 1,
    });

    const v3 = await snapshot({ environment, version: 3 });
    expect((await h.fetch("/v1/snapshot", put(v3))).status).toBe(201);
    const v2 = await snapshot({ environment, version: 2 });
    expect((await h.fetch("/v1/snapshot", put(v2))).status).toBe(409);

    const [head, , sig] = (await snapshot({ environment, version: 4 })).split(".");
    const forgedBody = (await snapshot({ environment, version: 5, flags: { flags: {} } })).split(".")[1];
    const forged = await h.fetch("/v1/snapshot", put(`${head}.${forgedBody}.${sig}`));
    expect(forged.status).toBe(422);
    expect(await forged.json()).toMatchObject({ error: "invalid_snapshot", code: "ERR_SNAPSHOT_SIGNATURE" });

    const untrusted = await h.fetch(
      "/v1/snapshot",
      put(await snapshot({ environment, version: 6 }, "untrusted")),
    );
    expect(await untrusted.json()).toMatchObject({ code: "ERR_SNAPSHOT_KID_UNKNOWN" });
    const otherEnv = await h.fetch(
      "/v1/snapshot",
      put(await snapshot({ environment: "production", version: 7 })),
    );
    expect(await otherEnv.json()).toMatchObject({ code: "ERR_SNAPSHOT_ENV" });

    // The refused ones changed nothing: version 3 serves and is what KV holds.
    expect(((await (await h.fetch("/v1/flags?targetingKey=u")).json()) as { version: number }).version).toBe(
      3,
    );
    expect(await testEnv.FLAGS.get(`snapshot/${environment}/current`)).toBe(v3);
  });

  it("refuses a version not newer than KV's even in a fresh isolate", async () => {
    const environment = "in-fresh";
    await harness({ EDGEFLAGS_ENV: environment }).fetch(
      "/v1/snapshot",
      put(await snapshot({ environment, version: 5 })),
    );
    const fresh = harness({ EDGEFLAGS_ENV: environment });
    const res = await fresh.fetch("/v1/snapshot", put(await snapshot({ environment, version: 4 })));
    expect(res.status).toBe(409);
  });
});

describe("GET /v1/snapshot", () => {
  it("returns the live snapshot to the publisher only", async () => {
    const environment = "in-get";
    const h = harness({ EDGEFLAGS_ENV: environment });
    expect(
      (await h.fetch("/v1/snapshot", { headers: { authorization: "Bearer test-publish-token" } })).status,
    ).toBe(404);
    const jws = await snapshot({ environment, version: 2 });
    await h.fetch("/v1/snapshot", put(jws));
    const res = await h.fetch("/v1/snapshot", { headers: { authorization: "Bearer test-publish-token" } });
    expect(res.headers.get("content-type")).toBe("application/jose");
    expect(await res.text()).toBe(jws);
    expect((await h.fetch("/v1/snapshot")).status).toBe(401);
  });
});
