/**
 * POST /v1/events: outcome events (`error`, `conversion`, ...) from a front-end, in batches, as
 * `fetch` or `navigator.sendBeacon` sends them (a text/plain body holding JSON, no custom headers).
 * The worker attributes each event to the variants it serves this visitor now - it re-evaluates the
 * flags with the visitor's context, exactly as GET /v1/flags does - and never to a variant the client
 * claims. Size-limited before parsing (app.ts), rate-limited per visitor (a token bucket per
 * targeting key, or per client IP for a visitor without one), counted through the evaluation counter
 * (src/observe). GET on the same path is the event stream (events.ts). I/O: the snapshot load.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { evaluate, evaluateAll } from "../../eval/index";
import type { EvaluationResult } from "../../eval/types";
import { MAX_NAME_LENGTH } from "../../flags/defaults";
import { parseOutcomes } from "../../observe/outcomes";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { prepareEvaluation, visible, withPreview, withPreviews } from "../evaluation";
import { queryPairs, readJson } from "../request";

export const outcomesRoutes = new Hono<AppEnv>();

/** Flag keys a body may restrict attribution to. */
const MAX_FLAGS = 100;

/** The bucket a request draws on: its targeting key, or its client IP when it has none of its own. */
function limitKey(c: Context<AppEnv>, keySource: string, targetingKey: string | undefined): string {
  if (targetingKey !== undefined && keySource !== "none" && keySource !== "new-cookie")
    return `k:${targetingKey}`;
  return `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
}

outcomesRoutes.post("/", async (c) => {
  const rt = c.get("rt");
  const { events } = rt.config;
  const parsed = parseOutcomes(await readJson(c, { textPlain: true }), {
    maxEvents: events.maxPerRequest,
    maxFlags: MAX_FLAGS,
    maxKeyLength: MAX_NAME_LENGTH,
  });
  if (!parsed.ok) throw new ApiError("bad_request", parsed.error);
  const { names, context, flags } = parsed.body;
  const { targetingKey, ...attributes } = context ?? {};
  if (targetingKey !== undefined && typeof targetingKey !== "string") {
    throw new ApiError("invalid_context", "context.targetingKey must be a string");
  }
  const url = c.req.url;
  const q = url.indexOf("?");
  const queryKey =
    q < 0 ? undefined : queryPairs(url.slice(q + 1)).find(([name]) => name === "targetingKey")?.[1];
  // A visitor without a key gets none invented: a fresh id would attribute events to whatever a
  // random key is served. Bucketed flags then serve no variant and get no attribution.
  const ev = await prepareEvaluation(c, {
    contextKey: targetingKey,
    queryKey,
    attributes,
    inventAnonId: false,
  });
  const now = ev.now;
  const decision = rt.eventLimits.take(
    limitKey(c, ev.built.keySource, ev.built.context.targetingKey),
    names.length,
    now,
  );
  if (!decision.ok) {
    c.header("Retry-After", String(decision.retryAfterSeconds));
    throw new ApiError("rate_limited");
  }
  const counter = rt.counts.counter;
  if (counter !== undefined) {
    const { compiled } = ev.snapshot;
    let served: EvaluationResult[];
    if (flags === undefined) {
      served = withPreviews(
        ev,
        evaluateAll(compiled, ev.built.context, now, { clientVisibleOnly: !ev.serverAccess }),
      );
    } else {
      // Only flags this caller may see, each once; unknown and hidden keys are ignored alike.
      served = [];
      for (const key of new Set(flags)) {
        if (visible(ev, key)) served.push(withPreview(ev, evaluate(compiled, key, ev.built.context, now)));
      }
    }
    counter.countOutcomes(served, names, now, (p) => c.executionCtx.waitUntil(p));
  }
  c.header("Cache-Control", "no-store");
  return c.body(null, 204);
});
