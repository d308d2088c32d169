/**
 * POST /v1/explain: why a context gets what it gets. Behind a server API key (X-API-Key, one of
 * SERVER_API_KEYS), it evaluates one flag (or every flag) for a context given in full - targeting key,
 * client attributes, identity claims and geo - and answers each step of the evaluation with the values
 * it read (src/explain). Geo and identity are taken from the body here only: this is an operator's
 * tool, and no evaluation route ever reads them from a request. With `at` (ISO 8601), the snapshot live
 * at that moment (KV's versions, src/snapshot/at.ts) is evaluated at that moment. I/O: KV for `at`.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { parseInstant } from "../../eval/schedule";
import type { EvaluationContext, GeoFacts } from "../../eval/types";
import { explainAll, explainFlag } from "../../explain/index";
import { GEO_FIELDS, MAX_NAME_LENGTH } from "../../flags/defaults";
import { snapshotAt } from "../../snapshot/at";
import { listKeys } from "../../snapshot/kv";
import { authorityCheck } from "../../snapshot/publish";
import type { VerifiedSnapshot } from "../../snapshot/verify";
import type { AppEnv } from "../app-env";
import { ApiError, echoKey } from "../errors";
import { readJson, snapshotFor } from "../request";

export const explainRoutes = new Hono<AppEnv>();

/** Versions read back looking for the one live at `at`: each is a KV read. */
export const AT_SCAN_LIMIT = 200;

const BODY_FIELDS = new Set(["flag", "context", "geo", "identity", "at"]);
const GEO_TYPES: Record<string, string> = {
  asn: "number",
  latitude: "number",
  longitude: "number",
  isEU: "boolean",
};
const GEO_FIELD_NAMES: ReadonlySet<string> = new Set(GEO_FIELDS);

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

interface ExplainRequest {
  flag: string | undefined;
  context: EvaluationContext;
  /** Epoch ms of `at`, when given. */
  at: number | undefined;
}

/** Geo as the edge would give it: known fields of the right types, country and continent upper case. */
function readGeo(x: unknown): GeoFacts | undefined {
  if (x === undefined) return undefined;
  if (!isObject(x)) throw new ApiError("invalid_context", 'geo must be an object like {"country":"DE"}');
  const geo: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(x)) {
    if (!GEO_FIELD_NAMES.has(name)) {
      throw new ApiError("invalid_context", `geo.${name} is not a geo field (${GEO_FIELDS.join(", ")})`);
    }
    const type = GEO_TYPES[name] ?? "string";
    if (typeof value !== type) throw new ApiError("invalid_context", `geo.${name} must be a ${type}`);
    geo[name] = name === "country" || name === "continent" ? (value as string).toUpperCase() : value;
  }
  return geo as GeoFacts;
}

/** `{ flag?, context?: { targetingKey?, ...attributes }, geo?, identity?, at? }`, checked. */
async function readRequest(c: Context<AppEnv>): Promise<ExplainRequest> {
  const body = await readJson(c);
  if (!isObject(body)) throw new ApiError("parse_error", "the body must be a JSON object");
  for (const name of Object.keys(body)) {
    if (!BODY_FIELDS.has(name)) {
      throw new ApiError(
        "bad_request",
        `unknown field ${JSON.stringify(name)}: use ${[...BODY_FIELDS].join(", ")}`,
      );
    }
  }
  const { flag, at } = body;
  if (flag !== undefined && (typeof flag !== "string" || flag === "")) {
    throw new ApiError("bad_request", "flag must be a flag key");
  }
  const context = body.context ?? {};
  if (!isObject(context)) throw new ApiError("invalid_context", "context must be an object");
  const { targetingKey, ...attributes } = context;
  if (targetingKey !== undefined && typeof targetingKey !== "string") {
    throw new ApiError("invalid_context", "context.targetingKey must be a string");
  }
  if (body.identity !== undefined && !isObject(body.identity)) {
    throw new ApiError("invalid_context", "identity must be an object of claims");
  }
  let atMs: number | undefined;
  if (at !== undefined) {
    try {
      if (typeof at !== "string") throw new Error("not a string");
      atMs = parseInstant(at, "at");
    } catch {
      throw new ApiError(
        "bad_request",
        "at must be an ISO 8601 time with an offset, like 2026-11-21T08:00:00Z",
      );
    }
  }
  const geo = readGeo(body.geo);
  return {
    flag,
    at: atMs,
    context: {
      ...(targetingKey === undefined || targetingKey === "" ? {} : { targetingKey }),
      ...(geo === undefined ? {} : { geo }),
      ...(body.identity === undefined ? {} : { identity: body.identity }),
      attributes,
    },
  };
}

/** The snapshot live at `at` (epoch ms), or the error saying why there is none. */
export async function snapshotLiveAt(c: Context<AppEnv>, at: number): Promise<VerifiedSnapshot> {
  const rt = c.get("rt");
  if (!rt.keys || !c.env.FLAGS) throw new ApiError("internal", rt.configError);
  const kv = c.env.FLAGS;
  const environment = rt.config.environment;
  const found = await snapshotAt(
    { get: (key) => kv.get(key, "text"), list: (prefix) => listKeys(kv, prefix) },
    authorityCheck(rt.keys, environment, rt.config.maxSnapshotBytes),
    environment,
    at,
    AT_SCAN_LIMIT,
  );
  const when = new Date(at).toISOString();
  switch (found.kind) {
    case "found":
      return found.snapshot;
    case "empty":
      throw new ApiError("no_version_at", `nothing was ever published in ${environment}`);
    case "before":
      throw new ApiError(
        "no_version_at",
        `${when} is before the first recorded version (${found.first.version}, published ${found.first.issuedAt ?? "at an unknown time"})`,
      );
    case "expired":
      throw new ApiError(
        "no_version_at",
        `version ${found.version}, live at ${when}, had expired (${found.expiresAt}): nothing was served`,
      );
    case "too_far":
      throw new ApiError("bad_request", `${when} is more than ${found.limit} versions back`);
  }
}

explainRoutes.post("/", async (c) => {
  const rt = c.get("rt");
  if (rt.config.serverApiKeys.length === 0) throw new ApiError("explain_disabled");
  if (!(await rt.isServerKey(c.req.header("x-api-key")))) throw new ApiError("unauthorized");
  const input = await readRequest(c);
  const now = Date.now();
  // A moment to come has no recorded snapshot yet: the one served now, evaluated at that moment.
  const past = input.at !== undefined && input.at <= now;
  const snapshot = past ? await snapshotLiveAt(c, input.at as number) : await snapshotFor(c);
  const at = input.at ?? now;
  const { flag } = input;
  if (flag !== undefined && (flag.length > MAX_NAME_LENGTH || !snapshot.compiled.has(flag))) {
    throw new ApiError(
      "flag_not_found",
      `no flag named ${JSON.stringify(echoKey(flag))} in version ${snapshot.payload.version}`,
    );
  }
  const { environment, version, issuedAt } = snapshot.payload;
  const doc = snapshot.payload.flags;
  c.header("Cache-Control", "no-store");
  return c.json({
    environment,
    version,
    issuedAt,
    snapshot: past ? "history" : "current",
    at: new Date(at).toISOString(),
    context: input.context,
    ...(flag === undefined
      ? { flags: explainAll(doc, input.context, at) }
      : { flag: explainFlag(doc, flag, input.context, at) }),
  });
});
