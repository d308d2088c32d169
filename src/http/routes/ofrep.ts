/**
 * OpenFeature Remote Evaluation Protocol v0.3: single-flag evaluation (server-side providers) and
 * bulk evaluation with ETag/304 (client-side providers). Request and response shapes follow
 * ../shared/spec/ofrep-openapi.yaml; errors use OFREP's bodies.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { evaluate, evaluateAll } from "../../eval/index";
import type { AppEnv } from "../app-env";
import { API_ERRORS, ApiError, ofrepErrorCode } from "../errors";
import { prepareEvaluation, visible } from "../evaluation";
import { notModified, PRIVATE_HEADERS, readJson } from "../request";
import { bulkBody, toOfrep } from "../wire";

export const ofrepRoutes = new Hono<AppEnv>();

interface OfrepRequest {
  contextKey: unknown;
  attributes: Record<string, unknown>;
}

/** `{ context: { targetingKey?, ...attributes } }`; everything but targetingKey is an untrusted attribute. */
async function readOfrepRequest(c: Context<AppEnv>): Promise<OfrepRequest> {
  const body = await readJson(c);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("parse_error", "the body must be a JSON object with a context");
  }
  const context = (body as { context?: unknown }).context ?? {};
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw new ApiError("invalid_context", "context must be an object");
  }
  const { targetingKey, ...attributes } = context as Record<string, unknown>;
  if (targetingKey !== undefined && typeof targetingKey !== "string") {
    throw new ApiError("invalid_context", "context.targetingKey must be a string");
  }
  return { contextKey: targetingKey, attributes };
}

/** OFREP's error body for a failure before evaluation (bad body, bad token, no snapshot). */
function ofrepError(c: Context<AppEnv>, err: unknown, key?: string): Response {
  if (!(err instanceof ApiError)) throw err;
  const { status } = API_ERRORS[err.code];
  if (err.code === "no_snapshot") c.header("Retry-After", "5");
  const body = {
    ...(key === undefined ? {} : { key }),
    errorCode: ofrepErrorCode(err.code),
    errorDetails: err.message,
  };
  return c.json(body, status);
}

ofrepRoutes.post("/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  try {
    const ev = await prepareEvaluation(c, await readOfrepRequest(c));
    for (const [k, v] of Object.entries(PRIVATE_HEADERS)) c.header(k, v);
    if (!visible(ev, key)) {
      return c.json(
        { key, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag ${JSON.stringify(key)} was not found` },
        404,
      );
    }
    const r = evaluate(ev.snapshot.compiled, key, ev.built.context, ev.now);
    const metadata = {
      snapshotVersion: ev.snapshot.payload.version,
      ...(r.ruleId ? { ruleId: r.ruleId } : {}),
    };
    return c.json({ ...toOfrep(r), metadata }, r.errorCode === undefined ? 200 : 400);
  } catch (err) {
    return ofrepError(c, err, key);
  }
});

ofrepRoutes.post("/evaluate/flags", async (c) => {
  try {
    const ev = await prepareEvaluation(c, await readOfrepRequest(c));
    const results = evaluateAll(ev.snapshot.compiled, ev.built.context, ev.now, {
      clientVisibleOnly: !ev.serverAccess,
    });
    const { version, environment } = ev.snapshot.payload;
    const body = bulkBody("ofrep", results, version, JSON.stringify({ version, environment }));
    c.header("ETag", body.etag);
    for (const [k, v] of Object.entries(PRIVATE_HEADERS)) c.header(k, v);
    if (notModified(c.req.header("if-none-match"), body.etag)) return c.body(null, 304);
    return c.body(body.text(), 200, { "Content-Type": "application/json; charset=utf-8" });
  } catch (err) {
    return ofrepError(c, err);
  }
});
