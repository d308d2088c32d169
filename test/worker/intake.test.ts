/** The publisher's snapshot intake, inside workerd: auth, media type, size, trust and monotonic versions. */
import { describe, expect, it } from "vitest";
import { fixtureKeys, harness, snapshot, testEnv } from "./helpers";

const put = (body: string, token = "test-publish-token", type = "application/jose") => ({
  method: "PUT",
  headers: { authorization: `Bearer ${token}`, "content-type": type },
  body,
});

describe("PUT /v1/snapshot", () => {
  it("keeps versions going up when the live snapshot no longer verifies, and never overwrites a published version", async () => {
    const environment = "in-floor";
    // Live is version 5, expired (so this cold isolate serves nothing); version 3 is in the history.
    const expired = await snapshot({
      environment,
      version: 5,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const v3 = await snapshot({ environment, version: 3 });
    await testEnv.FLAGS.put(`snapshot/${environment}/current`, expired);
    await testEnv.FLAGS.put(`snapshot/${environment}/v/0000000003`, v3);
    const h = harness({ EDGEFLAGS_ENV: environment });
    const lower = await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 4 })));
    expect(lower.status).toBe(409);
    expect(await lower.json()).toMatchObject({ code: "ERR_SNAPSHOT_ROLLBACK", liveVersion: 5 });

    // With `current` gone, the history itself still refuses a version it already has.
    await testEnv.FLAGS.delete(`snapshot/${environment}/current`);
    const again = await h.fetch(
      "/v1/snapshot",
      put(await snapshot({ environment, version: 3, issuedAt: new Date().toISOString() })),
    );
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      code: "ERR_SNAPSHOT_ROLLBACK",
      message: "version 3 was already published",
    });
    expect(await testEnv.FLAGS.get(`snapshot/${environment}/v/0000000003`)).toBe(v3);

    expect((await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 6 })))).status).toBe(
      201,
    );
  });

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
    expect(await ok.json()).toEqual({
      accepted: true,
      environment,
      version: 1,
      flags: 4,
      signal: "announced",
    });
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

describe("audit trail: GET /v1/snapshot/history and /v1/snapshot/versions/:version", () => {
  const auth = { headers: { authorization: "Bearer test-publish-token" } };
  const changes = (text: string) => ({
    added: [],
    removed: [],
    changed: [{ flag: "new-checkout", fields: ["rules"] }],
    text,
  });

  it("writes a signed-audit record per accepted publish and lists them newest first", async () => {
    const environment = "in-audit";
    const h = harness({ EDGEFLAGS_ENV: environment });
    for (const version of [1, 2, 3]) {
      const jws = await snapshot({
        environment,
        version,
        sourceDigest: `sha256:v${version}`,
        audit: {
          actor: `ada-${version}`,
          message: `publish ${version}`,
          changes: changes(`change ${version}`),
        },
      });
      expect((await h.fetch("/v1/snapshot", put(jws))).status).toBe(201);
    }
    // A refused snapshot leaves no record behind.
    const refused = await snapshot({
      environment,
      version: 2,
      audit: { actor: "mallory", changes: changes("x") },
    });
    expect((await h.fetch("/v1/snapshot", put(refused))).status).toBe(409);

    const stored = await testEnv.FLAGS.get(`audit/${environment}/0000000002`, "json");
    expect(stored).toEqual({
      version: 2,
      environment,
      issuedAt: expect.any(String),
      actor: "ada-2",
      message: "publish 2",
      sourceDigest: "sha256:v2",
      kid: fixtureKeys.primary.public.kid,
      changes: changes("change 2"),
    });

    const res = await h.fetch("/v1/snapshot/history?limit=2", auth);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { environment: string; records: { version: number; actor: string }[] };
    expect(body.environment).toBe(environment);
    expect(body.records.map((r) => [r.version, r.actor])).toEqual([
      [3, "ada-3"],
      [2, "ada-2"],
    ]);
    const all = (await (await h.fetch("/v1/snapshot/history", auth)).json()) as { records: unknown[] };
    expect(all.records).toHaveLength(3);
  });

  it("records null actor and changes for a snapshot without audit", async () => {
    const environment = "in-audit-none";
    const h = harness({ EDGEFLAGS_ENV: environment });
    await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 4 })));
    const body = (await (await h.fetch("/v1/snapshot/history", auth)).json()) as { records: unknown[] };
    expect(body.records).toEqual([
      expect.objectContaining({ version: 4, actor: null, message: null, changes: null }),
    ]);
  });

  it("refuses a snapshot whose signed audit block is malformed", async () => {
    const environment = "in-audit-bad";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const bad = await snapshot({
      environment,
      version: 1,
      audit: { actor: "ada", changes: { added: "x" } } as never,
    });
    const res = await h.fetch("/v1/snapshot", put(bad));
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: "ERR_SNAPSHOT_PAYLOAD" });
    expect(await testEnv.FLAGS.get(`audit/${environment}/0000000001`)).toBeNull();
  });

  it("checks the token and the limit", async () => {
    const h = harness({ EDGEFLAGS_ENV: "in-audit-auth" });
    expect((await h.fetch("/v1/snapshot/history")).status).toBe(401);
    expect((await h.fetch("/v1/snapshot/versions/1")).status).toBe(401);
    expect(
      (await h.fetch("/v1/snapshot/history", { headers: { authorization: "Bearer nope" } })).status,
    ).toBe(401);
    for (const limit of ["0", "101", "abc", "1.5"]) {
      expect((await h.fetch(`/v1/snapshot/history?limit=${limit}`, auth)).status).toBe(400);
    }
    const empty = (await (await h.fetch("/v1/snapshot/history", auth)).json()) as { records: unknown[] };
    expect(empty.records).toEqual([]);
  });

  it("returns an earlier version's JWS, 404 for one never published, 400 for a bad number", async () => {
    const environment = "in-versions";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const v1 = await snapshot({ environment, version: 1 });
    const v2 = await snapshot({ environment, version: 2 });
    await h.fetch("/v1/snapshot", put(v1));
    await h.fetch("/v1/snapshot", put(v2));
    const res = await h.fetch("/v1/snapshot/versions/1", auth);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/jose");
    expect(await res.text()).toBe(v1);
    expect(await (await h.fetch("/v1/snapshot/versions/2", auth)).text()).toBe(v2);
    expect((await h.fetch("/v1/snapshot/versions/3", auth)).status).toBe(404);
    expect((await h.fetch("/v1/snapshot/versions/0", auth)).status).toBe(400);
    expect((await h.fetch("/v1/snapshot/versions/x", auth)).status).toBe(400);
  });
});
