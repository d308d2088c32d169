/**
 * The publisher's snapshot intake: PUT /v1/snapshot with a signed snapshot behind the publish token.
 * The worker verifies it exactly as it verifies KV (signature, environment, expiry, flags) and demands
 * a version newer than the newest snapshot that verifies - this isolate's, KV's, the beacon's - then
 * writes KV and serves it from this isolate at once. Only what verifies counts: a `current` in KV
 * that does not (garbage, a forgery claiming a huge version) is ignored and reported, never a floor,
 * so a KV writer cannot block a publish or the kill switch.
 * GET /v1/snapshot returns that newest snapshot (for the publisher's diff, kill and numbering), with
 * what was wrong with `current` in a header; GET /history and GET /versions/:version serve the audit
 * trail, checked against the signed snapshots, and old snapshots, so history, rollback and diff work
 * from any machine. After a publish it announces the version to the beacon, and POST /notify does the
 * same for snapshots written to KV by other means (the publisher's kv-api target), so every isolate
 * learns of it within seconds (docs/propagation.md). GET /locations reads the beacon's table of the
 * version each location serves (`--confirm all`, `edgeflags status`). I/O: Workers KV, the beacon.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { announceSnapshot } from "../../signal/announce";
import type { LocationsView } from "../../signal/types";
import { type HistoryEntry, readHistory } from "../../snapshot/audit";
import { SnapshotError } from "../../snapshot/errors";
import { kvKeys } from "../../snapshot/format";
import type { KeyRing } from "../../snapshot/keys";
import { listKeys } from "../../snapshot/kv";
import {
  authorityCheck,
  findLive,
  type LiveState,
  type PublishKv,
  type ScanKv,
  type SnapshotCheck,
  writeSnapshot,
} from "../../snapshot/publish";
import type { SnapshotStore } from "../../snapshot/store";
import { type VerifiedSnapshot, verifySnapshot } from "../../snapshot/verify";
import type { AppEnv } from "../app-env";
import { ApiError, errorResponse } from "../errors";
import { logEvent, type Runtime } from "../runtime";

export const intakeRoutes = new Hono<AppEnv>();

async function requirePublisher(c: Context<AppEnv>): Promise<void> {
  const { config, isPublishToken } = c.get("rt");
  if (!config.publishToken) throw new ApiError("intake_disabled");
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!(await isPublishToken(match?.[1]))) throw new ApiError("unauthorized");
}

/** Header naming why `current` in KV is not the snapshot a publisher should build on (its code). */
export const CURRENT_REFUSED_HEADER = "Edgeflags-Current-Refused";
/** Header with the version a publish must exceed. */
export const VERSION_FLOOR_HEADER = "Edgeflags-Version-Floor";

/**
 * Versioned keys read at most when `current` does not verify: each is a KV read, and a KV writer can
 * add any number of them. Past this, the floor comes from this isolate and the beacon.
 */
const SCAN_LIMIT = 50;

/** The worker's view of KV, as the shared publishing code reads and writes it. */
function kvOf(c: Context<AppEnv>): ScanKv & PublishKv {
  const kv = c.env.FLAGS;
  return {
    get: (key) => kv.get(key, "text"),
    put: (key, value) => kv.put(key, value),
    list: (prefix) => listKeys(kv, prefix),
  };
}

/** The runtime of a worker whose settings are usable. */
type ReadyRuntime = Runtime & { keys: KeyRing; store: SnapshotStore };

/** The runtime, or 500 when the worker is misconfigured (no keys, no store). */
function ready(c: Context<AppEnv>): ReadyRuntime {
  const rt = c.get("rt");
  if (!rt.keys || !rt.store) throw new ApiError("internal", rt.configError);
  return rt as ReadyRuntime;
}

function checkFor(rt: ReadyRuntime): SnapshotCheck {
  return authorityCheck(rt.keys, rt.config.environment, rt.config.maxSnapshotBytes);
}

/**
 * What the beacon knows: its version (announced only after verification, so a floor), and that
 * version's snapshot when it holds it and it is newer than this isolate's. Never throws.
 */
async function fromBeacon(
  rt: Runtime,
  check: SnapshotCheck,
): Promise<{ version: number | undefined; snapshot: VerifiedSnapshot | undefined }> {
  const beacon = rt.signal.beacon;
  if (!beacon) return { version: undefined, snapshot: undefined };
  try {
    const state = await beacon.read();
    if (!state) return { version: undefined, snapshot: undefined };
    const served = rt.store?.peek()?.payload.version ?? 0;
    const jws = state.hasSnapshot && state.version > served ? await beacon.snapshot(state.version) : null;
    const snapshot = jws === null ? undefined : await check(jws).catch(() => undefined);
    return {
      version: state.version,
      snapshot: snapshot?.payload.version === state.version ? snapshot : undefined,
    };
  } catch {
    return { version: undefined, snapshot: undefined };
  }
}

/**
 * The flag classes a trust policy checks a new snapshot against (src/policy/check.ts): the store's,
 * loaded first when this isolate is cold, so a publish through a fresh isolate is held to the same
 * recorded classes as one through a warm isolate.
 */
async function stickyFor(c: Context<AppEnv>, jws: string) {
  const rt = ready(c);
  if (!rt.keys.policy) return undefined;
  if (!rt.store.peek()) await rt.store.get((p) => c.executionCtx.waitUntil(p));
  return rt.store.stickyFor(jws);
}

interface Live extends LiveState {
  /** The version a publish must exceed: the newest that verifies, or the beacon's when higher. */
  floor: number | undefined;
}

/** The newest snapshot that verifies and the version floor, logging what was wrong with `current`. */
async function liveState(c: Context<AppEnv>): Promise<Live> {
  const rt = ready(c);
  const check = checkFor(rt);
  const beacon = await fromBeacon(rt, check);
  const state = await findLive(kvOf(c), check, rt.config.environment, {
    known: [rt.store.peek(), beacon.snapshot],
    scanLimit: SCAN_LIMIT,
  });
  const newest = state.newest?.payload.version;
  const floor = beacon.version !== undefined && beacon.version > (newest ?? 0) ? beacon.version : newest;
  if (state.current) {
    const { code, message } = state.current;
    logEvent({ event: "snapshot_current_refused", level: "warn", code, message, newest: newest ?? null });
  }
  return { ...state, floor };
}

intakeRoutes.put("/", async (c) => {
  await requirePublisher(c);
  const rt = ready(c);
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/jose|text\/plain)\b/i.test(type)) {
    throw new ApiError("unsupported_media_type", "send the snapshot as application/jose");
  }
  const jws = (await c.req.text()).trim();
  const live = await liveState(c);
  const minVersion = live.floor;
  try {
    const verified = await verifySnapshot(jws, {
      keys: rt.keys,
      environment: rt.config.environment,
      minVersion,
      strictlyNewer: true,
      now: Date.now(),
      maxBytes: rt.config.maxSnapshotBytes,
      sticky: await stickyFor(c, jws),
    });
    const { version, environment } = verified.payload;
    const written = await writeSnapshot(kvOf(c), verified, checkFor(rt));
    rt.store.install(verified);
    // After KV: an isolate told of version N must find it (KV's versioned key or the beacon's copy).
    const signal = await announceSnapshot(rt.signal, rt.config.signalIntervalMs, verified);
    reportServing(c, rt);
    const kid = verified.kid;
    // What KV held that had no authority, and that this publish replaced.
    const warnings = [
      ...(live.current ? [`${live.current.message}; replaced by version ${version}`] : []),
      ...(written.replaced ? [written.replaced.message] : []),
    ];
    logEvent({ event: "snapshot_published", version, environment, kid, signal, warnings });
    const flags = verified.compiled.keys.length;
    return c.json(
      {
        accepted: true,
        environment,
        version,
        flags,
        signal: signal.status,
        ...(warnings.length > 0 ? { warnings } : {}),
      },
      201,
    );
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
 * A snapshot of the same version as `verified` but other bytes that verifies - in this isolate, in
 * KV (`current` or the versioned key) or in the beacon - so `verified` is not what was published.
 */
async function publishedOtherwise(
  c: Context<AppEnv>,
  verified: VerifiedSnapshot,
): Promise<string | undefined> {
  const rt = ready(c);
  const { environment, version } = verified.payload;
  const served = rt.store.peek();
  if (served?.payload.version === version && served.jws !== verified.jws) return "this worker serves another";
  const beacon = async () => {
    const state = await rt.signal.beacon?.read().catch(() => null);
    if (state?.version !== version || !state.hasSnapshot) return null;
    return (await rt.signal.beacon?.snapshot(version).catch(() => null)) ?? null;
  };
  const check = checkFor(rt);
  const kv = kvOf(c);
  const places = ["KV's current", `KV's ${kvKeys.version(environment, version)}`, "the beacon"];
  const found = await Promise.all([
    kv.get(kvKeys.current(environment)),
    kv.get(kvKeys.version(environment, version)),
    beacon(),
  ]);
  for (const [i, jws] of found.entries()) {
    if (jws === null || jws === verified.jws) continue;
    const other = await check(jws).catch(() => undefined);
    if (other?.payload.version === version) return `${places[i]} holds another`;
  }
  return undefined;
}

/**
 * POST /v1/snapshot/notify: a snapshot already written to KV by other means (the Cloudflare KV API)
 * is announced to the beacon. It is verified first, like any snapshot; the beacon only moves up.
 */
intakeRoutes.post("/notify", async (c) => {
  await requirePublisher(c);
  const rt = ready(c);
  const jws = (await c.req.text()).trim();
  try {
    const verified = await verifySnapshot(jws, {
      keys: rt.keys,
      environment: rt.config.environment,
      now: Date.now(),
      maxBytes: rt.config.maxSnapshotBytes,
      sticky: await stickyFor(c, jws),
    });
    // The same rule as PUT: one version, one content. Announcing another would serve it here.
    const other = await publishedOtherwise(c, verified);
    if (other) {
      const { version } = verified.payload;
      throw new SnapshotError(
        "ERR_SNAPSHOT_ROLLBACK",
        `version ${version} was already published with other content (${other})`,
      );
    }
    rt.store.install(verified);
    const signal = await announceSnapshot(rt.signal, rt.config.signalIntervalMs, verified);
    reportServing(c, rt);
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
      err.code === "ERR_SNAPSHOT_ROLLBACK"
        ? "conflict"
        : err.code === "ERR_SNAPSHOT_TOO_LARGE"
          ? "payload_too_large"
          : "invalid_snapshot",
      err.message,
    );
    logEvent({ event: "snapshot_notify_refused", code: err.code, message: err.message });
    return c.json({ ...body, code: err.code }, status as 409 | 413 | 422);
  }
});

/**
 * The snapshot a publisher builds on: the newest that verifies. When `current` in KV is not it, the
 * header says why (its code); with nothing that verifies, 404 with the same code.
 */
intakeRoutes.get("/", async (c) => {
  await requirePublisher(c);
  const live = await liveState(c);
  c.header("Cache-Control", "no-store");
  if (live.current) c.header(CURRENT_REFUSED_HEADER, live.current.code);
  if (live.floor !== undefined) c.header(VERSION_FLOOR_HEADER, String(live.floor));
  if (!live.newest) {
    if (!live.current) throw new ApiError("not_found", "nothing is published in this environment yet");
    const { body } = errorResponse(
      "not_found",
      `nothing that verifies is published in this environment (${live.current.message})`,
    );
    return c.json({ ...body, code: live.current.code, floorVersion: live.floor ?? null }, 404);
  }
  return c.body(live.newest.jws, 200, { "Content-Type": "application/jose" });
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
  const records = await snapshotHistory(c, limit);
  c.header("Cache-Control", "no-store");
  return c.json({ environment, records });
});

/**
 * The newest `limit` entries of the audit trail, newest first, as GET /history answers them (and the
 * console shows them). Every record is checked against the signed snapshot of its version: KV alone
 * proves nothing.
 */
export function snapshotHistory(c: Context<AppEnv>, limit: number): Promise<HistoryEntry[]> {
  const rt = ready(c);
  return readHistory(kvOf(c), checkFor(rt), rt.config.environment, limit);
}

/** Default and longest activity window of GET /locations, seconds (the beacon keeps an hour). */
export const DEFAULT_ACTIVE_WITHIN_S = 600;
const MAX_ACTIVE_WITHIN_S = 3600;

/** `activeWithin`: `90s`, `10m`, `1h` or plain seconds, from 1 s to 1 h. */
export function parseActiveWithin(text: string | undefined): number {
  if (text === undefined) return DEFAULT_ACTIVE_WITHIN_S;
  const m = /^(\d{1,5})([smh]?)$/.exec(text);
  const s = m ? Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1) : Number.NaN;
  if (!(s >= 1) || s > MAX_ACTIVE_WITHIN_S) {
    throw new ApiError("bad_request", "activeWithin takes a duration from 1s to 1h, such as 90s or 10m");
  }
  return s;
}

intakeRoutes.get("/locations", async (c) => {
  await requirePublisher(c);
  const view = await locationTable(c.get("rt"), parseActiveWithin(c.req.query("activeWithin")));
  c.header("Cache-Control", "no-store");
  return c.json(view);
});

/**
 * The beacon's table of the version each location serves, for locations seen within `seconds`, as
 * GET /locations answers it (and the console shows it). `signal_disabled` when there is no signal.
 */
export async function locationTable(rt: Runtime, seconds: number): Promise<LocationsView> {
  const { beacon, off } = rt.signal;
  if (!beacon?.locations || off)
    throw new ApiError("signal_disabled", off && `the version signal is off: ${off}`);
  const view = await beacon.locations(seconds * 1000);
  return { ...view, environment: rt.config.environment };
}

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

/**
 * This location now serves the version it just announced: it tells the beacon's location table in
 * the background, so `--confirm all` sees the publishing location without waiting for its traffic.
 */
function reportServing(c: Context<AppEnv>, rt: Runtime): void {
  const watcher = rt.signal.watcher;
  if (watcher) c.executionCtx.waitUntil(watcher.reportServing());
}
