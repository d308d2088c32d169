/**
 * The plain front-end API: GET /v1/flags (every client-visible flag for this visitor, compact, with
 * ETag) and GET /v1/flags/:key. Client attributes come from the query string and are untrusted.
 */
import { Hono } from "hono/tiny";
import { MAX_NAME_LENGTH } from "../../flags/defaults";
import { PREVIEW_PARAM } from "../../preview/token";
import { bulkAnswer } from "../answer";
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
import { FLAG_CONFIG_ETAG, FLAG_CONFIG_LAST_MODIFIED, queryPairs, versionParam } from "../request";
import { bulkBody, detailsOf } from "../wire";

export const flagsRoutes = new Hono<AppEnv>();

function queryInput(url: string) {
  // Only the query string: the router has already read the path, so a full URL parse is wasted work.
  const q = url.indexOf("?");
  const attributes: Record<string, unknown> = {};
  let queryKey: string | undefined;
  let details: string | undefined;
  let minVersion: number | undefined;
  for (const [name, value] of queryPairs(q < 0 ? "" : url.slice(q + 1))) {
    // The first targetingKey and details count, as URLSearchParams.get would have it.
    if (name === "targetingKey") queryKey ??= value;
    else if (name === "details") details ??= value;
    // A preview link's token is read by prepareEvaluation; it is no attribute.
    else if (name === PREVIEW_PARAM) continue;
    // A re-fetch after an event stream's notification: the version it was told of, no attribute.
    else if (name === FLAG_CONFIG_ETAG) minVersion ??= versionParam(value);
    else if (name === FLAG_CONFIG_LAST_MODIFIED) continue;
    else attributes[name] = value;
  }
  return {
    queryKey,
    attributes,
    minVersion,
    details: details === "" || details === "1" || details === "true",
  };
}

flagsRoutes.get("/", async (c) => {
  const { details, ...input } = queryInput(c.req.url);
  const ev = await prepareEvaluation(c, input);
  const results = bulkResults(c, ev);
  const served = withPreviews(ev, results);
  // A 304 counts too: the visitor keeps being served what it already has.
  countServed(c, served, ev.now);
  const body = bulkBody(details ? "details" : "compact", served, ev.snapshot.payload.version, {
    reuse: reusable(ev),
  });
  return bulkAnswer(c, body, ev.preview !== undefined);
});

flagsRoutes.get("/:key", async (c) => {
  const key = c.req.param("key");
  const notFound = () => new ApiError("flag_not_found", `no flag named ${JSON.stringify(echoKey(key))}`);
  // No flag has a longer name: answered at once, without evaluating.
  if (key.length > MAX_NAME_LENGTH) throw notFound();
  const input = queryInput(c.req.url);
  const ev = await prepareEvaluation(c, input);
  if (!visible(ev, key)) throw notFound();
  const r = withPreview(ev, oneResult(c, ev, key));
  countServed(c, r, ev.now);
  c.header("Cache-Control", cacheControlOf(ev));
  return c.json({ key, ...detailsOf(r), version: ev.snapshot.payload.version });
});
