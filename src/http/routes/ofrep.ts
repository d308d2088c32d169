/**
 * OpenFeature Remote Evaluation Protocol v0.3: single-flag evaluation (server-side providers) and
 * bulk evaluation with ETag/304 (client-side providers). Request and response shapes follow
 * docs/spec/ofrep-openapi.yaml (a copy of the OFREP spec); errors use OFREP's bodies.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { MAX_NAME_LENGTH } from "../../flags/defaults";
import { bulkAnswer, errorAnswer, PRIVATE_CACHE } from "../answer";
import type { AppEnv } from "../app-env";
import { ApiError, echoKey } from "../errors";
import {
  bulkResults,
  cacheControlOf,
  countServed,
  oneResult,
  prepareEvaluation,
  reusable,
  visible,
  withPreview,
  withPreviews,
} from "../evaluation";
import { notifiedVersion, readJson } from "../request";
import { bulkBody, toOfrep } from "../wire";
import { eventStreamsMember } from "./events";

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

/** OFREP's 404 for a flag this caller cannot see, repeating at most MAX_ECHOED_KEY of its key. */
function flagNotFound(c: Context<AppEnv>, key: string): Response {
  c.header("Cache-Control", PRIVATE_CACHE);
  const shown = echoKey(key);
  return c.json(
    { key: shown, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag ${JSON.stringify(shown)} was not found` },
    404,
  );
}

ofrepRoutes.post("/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  // No flag has a longer name: answered at once, without reading the body or evaluating.
  if (key.length > MAX_NAME_LENGTH) return flagNotFound(c, key);
  try {
    const ev = await prepareEvaluation(c, await readOfrepRequest(c));
    c.header("Cache-Control", cacheControlOf(ev));
    if (!visible(ev, key)) return flagNotFound(c, key);
    const r = withPreview(ev, oneResult(c, ev, key));
    countServed(c, r, ev.now);
    const metadata = {
      snapshotVersion: ev.snapshot.payload.version,
      ...(r.ruleId ? { ruleId: r.ruleId } : {}),
    };
    return c.json({ ...toOfrep(r), metadata }, r.errorCode === undefined ? 200 : 400);
  } catch (err) {
    // As any error, with the flag's key in the body, as OFREP's single evaluation has it.
    return errorAnswer(c, err, key);
  }
});

ofrepRoutes.post("/evaluate/flags", async (c) => {
  const input = await readOfrepRequest(c);
  // A re-fetch after an event stream's notification names the version it was told of.
  const ev = await prepareEvaluation(c, { ...input, minVersion: notifiedVersion(c.req.url) });
  const results = bulkResults(c, ev);
  const { version, environment } = ev.snapshot.payload;
  const served = withPreviews(ev, results);
  countServed(c, served, ev.now);
  const body = bulkBody("ofrep", served, version, {
    metadata: JSON.stringify({ version, environment }),
    more: eventStreamsMember(c.env, c.get("rt").streams !== undefined),
    reuse: reusable(ev),
  });
  return bulkAnswer(c, body, ev.preview !== undefined);
});
