/**
 * The plain front-end API: GET /v1/flags (every client-visible flag for this visitor, compact, with
 * ETag) and GET /v1/flags/:key. Client attributes come from the query string and are untrusted.
 */
import { Hono } from "hono";
import { evaluate, evaluateAll } from "../../eval/index";
import type { JsonValue } from "../../flags/types";
import type { AppEnv } from "../app-env";
import { RESERVED_QUERY } from "../context";
import { ApiError } from "../errors";
import { detailsOf, prepareEvaluation, visible } from "../evaluation";
import { etagOf, notModified, PRIVATE_HEADERS } from "../request";

export const flagsRoutes = new Hono<AppEnv>();

function queryInput(url: string) {
  const params = new URL(url).searchParams;
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of params) if (!RESERVED_QUERY.has(name)) attributes[name] = value;
  const details = params.get("details");
  return {
    queryKey: params.get("targetingKey") ?? undefined,
    attributes,
    details: details === "" || details === "1" || details === "true",
  };
}

flagsRoutes.get("/", async (c) => {
  const { details, ...input } = queryInput(c.req.url);
  const ev = await prepareEvaluation(c, input);
  const results = evaluateAll(ev.snapshot.compiled, ev.built.context, ev.now, {
    clientVisibleOnly: !ev.serverAccess,
  });
  const flags: Record<string, JsonValue | Record<string, unknown>> = {};
  for (const r of results) {
    // A flag that could not be evaluated is left out: the front-end falls back to its code default.
    if (r.errorCode !== undefined) continue;
    flags[r.key] = details ? detailsOf(r) : (r.value as JsonValue);
  }
  const version = ev.snapshot.payload.version;
  const body = JSON.stringify({ version, flags });
  const etag = etagOf(version, body);
  c.header("ETag", etag);
  for (const [k, v] of Object.entries(PRIVATE_HEADERS)) c.header(k, v);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return c.body(body, 200, { "Content-Type": "application/json; charset=utf-8" });
});

flagsRoutes.get("/:key", async (c) => {
  const key = c.req.param("key");
  const input = queryInput(c.req.url);
  const ev = await prepareEvaluation(c, input);
  if (!visible(ev, key)) throw new ApiError("flag_not_found", `no flag named ${JSON.stringify(key)}`);
  const r = evaluate(ev.snapshot.compiled, key, ev.built.context, ev.now);
  for (const [k, v] of Object.entries(PRIVATE_HEADERS)) c.header(k, v);
  return c.json({ key, ...detailsOf(r), version: ev.snapshot.payload.version });
});
