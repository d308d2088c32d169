/** The publisher's snapshot intake, inside workerd: auth, media type, size, trust and monotonic versions. */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { fixtureKeys, harness, snapshot, testEnv } from "./helpers";

const put = (body: string, token = "test-publish-token", type = "application/jose") => ({
  method: "PUT",
  headers: { authorization: `Bearer ${token}`, "content-type": type },
  body,
});

describe("PUT /v1/snapshot", () => {
  it("keeps versions going up when the live snapshot has expired, and never overwrites a published version", async () => {
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

    // With `current` gone, the versioned keys still refuse a version already published.
    await testEnv.FLAGS.delete(`snapshot/${environment}/current`);
    const again = await h.fetch(
      "/v1/snapshot",
      put(await snapshot({ environment, version: 3, issuedAt: new Date().toISOString() })),
    );
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      code: "ERR_SNAPSHOT_ROLLBACK",
      message: "snapshot version 3 is not newer than version 3",
      liveVersion: 3,
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

/** A JWS whose payload is replaced (here: a huge version) while header and signature stay: forged. */
function forgeVersion(jws: string, version: number): string {
  const [head, body, sig] = jws.split(".") as [string, string, string];
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(body)));
  return `${head}.${base64url.encode(JSON.stringify({ ...payload, version }))}.${sig}`;
}

const authGet = { headers: { authorization: "Bearer test-publish-token" } };

describe("a KV writer cannot block the operator (writing KV directly, bypassing the intake)", () => {
  it("ignores a `current` that does not verify: publishes above the newest version that verifies, and says so", async () => {
    const environment = "in-poison";
    const h = harness({ EDGEFLAGS_ENV: environment });
    for (const version of [1, 2]) {
      expect((await h.fetch("/v1/snapshot", put(await snapshot({ environment, version })))).status).toBe(201);
    }
    const v2 = (await testEnv.FLAGS.get(`snapshot/${environment}/current`)) as string;
    // A forged `current` claiming the largest version there is.
    await testEnv.FLAGS.put(`snapshot/${environment}/current`, forgeVersion(v2, Number.MAX_SAFE_INTEGER));
    // A cold isolate without the beacon: the floor can only come from KV's versioned keys.
    const cold = () => harness({ EDGEFLAGS_ENV: environment }, { beacon: () => undefined });
    const v3 = await snapshot({ environment, version: 3 });
    const res = await cold().fetch("/v1/snapshot", put(v3));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { version: number; warnings: string[] };
    expect(body.version).toBe(3);
    expect(body.warnings).toEqual([
      expect.stringMatching(/current .*does not verify \(ERR_SNAPSHOT_SIGNATURE\)/),
    ]);
    expect(await testEnv.FLAGS.get(`snapshot/${environment}/current`)).toBe(v3);

    // Garbage in `current` does not lower the floor either: the versioned keys still hold version 3.
    await testEnv.FLAGS.put(`snapshot/${environment}/current`, "not a snapshot");
    const replay = await cold().fetch(
      "/v1/snapshot",
      put(await snapshot({ environment, version: 3, sourceDigest: "sha256:other" })),
    );
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ code: "ERR_SNAPSHOT_ROLLBACK", liveVersion: 3 });
    expect(
      (await cold().fetch("/v1/snapshot", put(await snapshot({ environment, version: 4 })))).status,
    ).toBe(201);
  });

  it("GET /v1/snapshot answers the newest snapshot that verifies and names what was wrong with `current`", async () => {
    const environment = "in-poison-get";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const v1 = await snapshot({ environment, version: 1 });
    expect((await h.fetch("/v1/snapshot", put(v1))).status).toBe(201);
    await testEnv.FLAGS.put(`snapshot/${environment}/current`, forgeVersion(v1, 99));
    const res = await harness({ EDGEFLAGS_ENV: environment }, { beacon: () => undefined }).fetch(
      "/v1/snapshot",
      authGet,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(v1);
    expect(res.headers.get("edgeflags-current-refused")).toBe("ERR_SNAPSHOT_SIGNATURE");

    // Nothing that verifies at all: 404 with the reason, never the garbage.
    const other = "in-poison-none";
    await testEnv.FLAGS.put(`snapshot/${other}/current`, "not a snapshot");
    await testEnv.FLAGS.put(`snapshot/${other}/v/0000000001`, "not a snapshot either");
    const none = await harness({ EDGEFLAGS_ENV: other }).fetch("/v1/snapshot", authGet);
    expect(none.status).toBe(404);
    expect(none.headers.get("edgeflags-current-refused")).toBe("ERR_SNAPSHOT_MALFORMED");
    expect(await none.json()).toMatchObject({ error: "not_found", code: "ERR_SNAPSHOT_MALFORMED" });
  });

  it("overwrites a pre-written versioned key that does not verify; a real signed snapshot of that version wins", async () => {
    const environment = "in-prewrite";
    const h = harness({ EDGEFLAGS_ENV: environment });
    expect((await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 1 })))).status).toBe(
      201,
    );
    const key = (v: number) => `snapshot/${environment}/v/${String(v).padStart(10, "0")}`;

    await testEnv.FLAGS.put(key(2), "garbage");
    const v2 = await snapshot({ environment, version: 2 });
    const res = await h.fetch("/v1/snapshot", put(v2));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { warnings: string[] }).warnings).toEqual([
      expect.stringMatching(
        /v\/0000000002 held something that does not verify \(ERR_SNAPSHOT_MALFORMED\).*overwritten/,
      ),
    ]);
    expect(await testEnv.FLAGS.get(key(2))).toBe(v2);

    // A real snapshot copied under another version's key has no authority there either.
    await testEnv.FLAGS.put(key(3), v2);
    expect((await h.fetch("/v1/snapshot", put(await snapshot({ environment, version: 3 })))).status).toBe(
      201,
    );

    // A real, signed version 4 that `current` does not point at yet (an interrupted publish): it is
    // the newest that verifies, so a different version 4 is refused and 5 is next.
    const real4 = await snapshot({ environment, version: 4, sourceDigest: "sha256:real" });
    await testEnv.FLAGS.put(key(4), real4);
    const cold = harness({ EDGEFLAGS_ENV: environment });
    const other4 = await cold.fetch("/v1/snapshot", put(await snapshot({ environment, version: 4 })));
    expect(other4.status).toBe(409);
    expect(await other4.json()).toMatchObject({ code: "ERR_SNAPSHOT_ROLLBACK", liveVersion: 4 });
    expect(await testEnv.FLAGS.get(key(4))).toBe(real4);
    expect(await (await cold.fetch("/v1/snapshot", authGet)).text()).toBe(real4);
  });

  it("POST /notify refuses a snapshot of a published version with different content, like PUT", async () => {
    const environment = "in-notify-same";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const a = await snapshot({ environment, version: 1 });
    expect((await h.fetch("/v1/snapshot", put(a))).status).toBe(201);
    const before = await (await h.fetch("/v1/flags?targetingKey=u")).text();
    const b = await snapshot({
      environment,
      version: 1,
      sourceDigest: "sha256:other",
      flags: { flags: { "new-checkout": { clientVisible: true, fallthrough: "on" } } },
    });
    const notify = (body: string) => ({
      method: "POST",
      headers: { authorization: "Bearer test-publish-token", "content-type": "application/jose" },
      body,
    });
    for (const isolate of [h, harness({ EDGEFLAGS_ENV: environment })]) {
      const res = await isolate.fetch("/v1/snapshot/notify", notify(b));
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: "conflict", code: "ERR_SNAPSHOT_ROLLBACK" });
    }
    expect(await (await h.fetch("/v1/flags?targetingKey=u")).text()).toBe(before);
    expect((await h.fetch("/v1/snapshot/notify", notify(a))).status).toBe(200);
  });
});

describe("history is checked against the signed snapshots", () => {
  it("flags forged and unreadable audit records, never shows them as real, and never answers 5xx", async () => {
    const environment = "in-history-forged";
    const h = harness({ EDGEFLAGS_ENV: environment });
    const audit = (actor: string) => ({
      actor,
      message: `by ${actor}`,
      changes: { added: [], removed: [], changed: [], text: "nothing" },
    });
    for (const version of [1, 2]) {
      const jws = await snapshot({ environment, version, audit: audit(`ada-${version}`) });
      expect((await h.fetch("/v1/snapshot", put(jws))).status).toBe(201);
    }
    const record = (v: number) => `audit/${environment}/${String(v).padStart(10, "0")}`;
    const forged = JSON.parse((await testEnv.FLAGS.get(record(2))) as string);
    await testEnv.FLAGS.put(
      record(2),
      JSON.stringify({ ...forged, actor: "mallory", message: "by mallory" }),
    );
    await testEnv.FLAGS.put(record(3), "{ not json");
    await testEnv.FLAGS.put(record(9), JSON.stringify({ ...forged, version: 9, actor: "mallory" }));

    const res = await h.fetch("/v1/snapshot/history", authGet);
    expect(res.status).toBe(200);
    const { records } = (await res.json()) as { records: Record<string, unknown>[] };
    expect(records.map((r) => [r.version, r.verified, r.actor ?? null])).toEqual([
      [9, false, null],
      [3, false, null],
      [2, true, "ada-2"],
      [1, true, "ada-1"],
    ]);
    expect(records[0]?.reason).toMatch(/no snapshot/);
    expect(records[2]?.reason).toMatch(/audit record in KV does not match the signed snapshot/);
    expect(records[3]?.reason).toBeUndefined();
    expect(JSON.stringify(records)).not.toContain("mallory");
  });
});
