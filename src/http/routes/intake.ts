/**
 * The publisher's snapshot intake: PUT /v1/snapshot with a signed snapshot behind the publish token.
 * The worker verifies it exactly as it verifies KV (signature, environment, expiry, flags) and demands
 * a version newer than the live one, then writes KV and serves it from this isolate at once.
 * GET /v1/snapshot returns the live snapshot (for the publisher's diff and kill); GET /history and
 * GET /versions/:version serve the audit trail and old snapshots, so history, rollback and diff work
 * from any machine. After a publish it announces the version to the beacon, and POST /notify does the
 * same for snapshots written to KV by other means (the publisher's kv-api target), so every isolate
 * learns of it within seconds (docs/propagation.md). I/O: Workers KV, the beacon.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { announceSnapshot } from "../../signal/announce";
import { SnapshotError } from "../../snapshot/errors";
import { type AuditRecord, kvKeys } from "../../snapshot/format";
import { listKeys } from "../../snapshot/kv";
import { versionOf, writeSnapshot } from "../../snapshot/publish";
import { verifySnapshot } from "../../snapshot/verify";
import type { AppEnv } from "../app-env";
import { ApiError, errorResponse } from "../errors";
import { logEvent } from "../runtime";

export const intakeRoutes = new Hono<AppEnv>();

async function requirePublisher(c: Context<AppEnv>): Promise<void> {
  const { config, isPublishToken } = c.get("rt");
  if (!config.publishToken) throw new ApiError("intake_disabled");
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!(await isPublishToken(match?.[1]))) throw new ApiError("unauthorized");
}

/**
 * The version a publish must exceed: the newest this isolate serves, or the live one in KV, whether
 * or not that one still verifies (see `versionOf`).
 */
async function liveVersion(c: Context<AppEnv>): Promise<number | undefined> {
  const rt = c.get("rt");
  const inMemory = rt.store?.peek()?.payload.version;
  const live = versionOf(await c.env.FLAGS.get(kvKeys.current(rt.config.environment), "text"));
  return inMemory === undefined ? live : Math.max(inMemory, live ?? 0);
}

intakeRoutes.put("/", async (c) => {
  await requirePublisher(c);
  const rt = c.get("rt");
  if (!rt.keys || !rt.store) throw new ApiError("internal", rt.configError);
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/jose|text\/plain)\b/i.test(type)) {
    throw new ApiError("unsupported_media_type", "send the snapshot as application/jose");
  }
  const jws = (await c.req.text()).trim();
  const minVersion = await liveVersion(c);
  try {
    const verified = await verifySnapshot(jws, {
      keys: rt.keys,
      environment: rt.config.environment,
      minVersion,
      strictlyNewer: true,
      now: Date.now(),
      maxBytes: rt.config.maxSnapshotBytes,
    });
    const { version, environment } = verified.payload;
    await writeSnapshot(c.env.FLAGS, verified);
    rt.store.install(verified);
    // After KV: an isolate told of version N must find it (KV's versioned key or the beacon's copy).
    const signal = await announceSnapshot(rt.signal, rt.config.signalIntervalMs, verified);
    const kid = verified.kid;
    logEvent({ event: "snapshot_published", version, environment, kid, signal });
    const flags = verified.compiled.keys.length;
    return c.json({ accepted: true, environment, version, flags, signal: signal.status }, 201);
  } catch (err) {
    if (!(err instanceof SnapshotError)) throw err;
    const { status, body } =
      err.code === "ERR_SNAPSHOT_ROLLBACK"
        ? errorResponse("conflict", err.message)
        : errorResponse(
            err.code === "ERR_SNAPSHOT_TOO_LARGE" ? "payload_too_large" : "invalid_snapshot",
            err.message,
          );
    logEvent({ event: "snapshot_refused", code: err.code, message: err.message });
    return c.json({ ...body, code: err.code, liveVersion: minVersion ?? null }, status as 409 | 413 | 422);
  }
});

/**
 * POST /v1/snapshot/notify: a snapshot already written to KV by other means (the Cloudflare KV API)
 * is announced to the beacon. It is verified first, like any snapshot; the beacon only moves up.
 */
intakeRoutes.post("/notify", async (c) => {
  await requirePublisher(c);
  const rt = c.get("rt");
  if (!rt.keys || !rt.store) throw new ApiError("internal", rt.configError);
  const jws = (await c.req.text()).trim();
  try {
    const verified = await verifySnapshot(jws, {
      keys: rt.keys,
      environment: rt.config.environment,
      now: Date.now(),
      maxBytes: rt.config.maxSnapshotBytes,
    });
    rt.store.install(verified);
    const signal = await announceSnapshot(rt.signal, rt.config.signalIntervalMs, verified);
    const { version } = verified.payload;
    logEvent({ event: "snapshot_announced", version, signal });
    // 200 whatever the beacon did: the snapshot is stored either way; the body says if it was announced.
    return c.json({
      version,
      signal: signal.status,
      beaconVersion: signal.beaconVersion ?? null,
      message: signal.message ?? null,
    });
  } catch (err) {
    if (!(err instanceof SnapshotError)) throw err;
    const { status, body } = errorResponse(
      err.code === "ERR_SNAPSHOT_TOO_LARGE" ? "payload_too_large" : "invalid_snapshot",
      err.message,
    );
    return c.json({ ...body, code: err.code }, status as 413 | 422);
  }
});

intakeRoutes.get("/", async (c) => {
  await requirePublisher(c);
  const rt = c.get("rt");
  const raw = await c.env.FLAGS.get(kvKeys.current(rt.config.environment), "text");
  if (raw === null) throw new ApiError("not_found", "nothing is published in this environment yet");
  c.header("Cache-Control", "no-store");
  return c.body(raw, 200, { "Content-Type": "application/jose" });
});

const DEFAULT_HISTORY = 20;
const MAX_HISTORY = 100;

intakeRoutes.get("/history", async (c) => {
  await requirePublisher(c);
  const raw = c.req.query("limit");
  const limit = raw === undefined ? DEFAULT_HISTORY : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
    throw new ApiError("bad_request", `limit must be an integer from 1 to ${MAX_HISTORY}`);
  }
  const environment = c.get("rt").config.environment;
  const names = (await listKeys(c.env.FLAGS, kvKeys.auditPrefix(environment))).slice(-limit).reverse();
  const records = await Promise.all(names.map((name) => c.env.FLAGS.get<AuditRecord>(name, "json")));
  c.header("Cache-Control", "no-store");
  return c.json({ environment, records: records.filter((r) => r !== null) });
});

intakeRoutes.get("/versions/:version", async (c) => {
  await requirePublisher(c);
  const version = Number(c.req.param("version"));
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ApiError("bad_request", "version must be a positive integer");
  }
  const environment = c.get("rt").config.environment;
  const raw = await c.env.FLAGS.get(kvKeys.version(environment, version), "text");
  if (raw === null) throw new ApiError("not_found", `version ${version} was never published here`);
  c.header("Cache-Control", "no-store");
  return c.body(raw, 200, { "Content-Type": "application/jose" });
});
