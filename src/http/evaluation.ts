/**
 * What every evaluation route does before evaluating: verify identity, build the context, decide
 * whether the caller may see server-only flags, read a preview link, and find the snapshot. Only the
 * snapshot load does I/O.
 */
import type { Context } from "hono";
import { firstAnswer, firstAnswers, firstVisible } from "../eval/first";
import { evaluate, evaluateAll, evaluateValues } from "../eval/index";
import { flagNotFound } from "../eval/reasons";
import type { EvaluationContext, EvaluationResult } from "../eval/types";
import type { JsonValue } from "../flags/types";
import { applyPreview, previewOverride } from "../preview/apply";
import type { PreviewGrant } from "../preview/token";
import type { VerifiedSnapshot } from "../snapshot/verify";
import { PREVIEW_CACHE, PRIVATE_CACHE } from "./answer";
import type { AppEnv } from "./app-env";
import { anonCookieHeader, type BuiltContext, buildContext, keepsAnonCookie } from "./context";
import { routePreview } from "./preview";
import { snapshotFor } from "./request";

export interface Evaluation {
  built: BuiltContext;
  /** A valid X-API-Key was presented: server-only flags are visible. */
  serverAccess: boolean;
  snapshot: VerifiedSnapshot;
  now: number;
  /** A verified preview token came with the request (query or cookie): see src/preview. */
  preview: PreviewGrant | undefined;
}

/** Prepares an evaluation; throws ApiError for a bad token or when no snapshot is loaded. */
export async function prepareEvaluation(
  c: Context<AppEnv>,
  input: {
    contextKey?: unknown;
    queryKey?: string;
    attributes?: Record<string, unknown>;
    /** The version an event stream told this client of: the answer is never older. */
    minVersion?: number;
    /** false: never mint an anonymous id (a visitor without a key stays without one). */
    inventAnonId?: false;
  },
): Promise<Evaluation> {
  const rt = c.get("rt");
  const identity = await rt.verifyIdentity(c.req.raw);
  const serverAccess = await rt.isServerKey(c.req.header("x-api-key"));
  // A back-end (API key) or a caller that would not keep the cookie names its own targeting key.
  const inventAnonId = input.inventAnonId !== false && !serverAccess && keepsAnonCookie(c.req.raw, rt.config);
  const built = buildContext({ ...input, request: c.req.raw, config: rt.config, identity, inventAnonId });
  if (built.newAnonId) {
    const cookie = anonCookieHeader(rt.config, built.newAnonId);
    if (cookie) c.header("Set-Cookie", cookie, { append: true });
  }
  const now = Date.now();
  const preview = await routePreview(c, now);
  const snapshot = await snapshotFor(c, input.minVersion);
  return { built, serverAccess, snapshot, now, preview };
}

/** Whether this caller may see the flag at all (unknown and hidden flags look the same). */
export function visible(ev: Evaluation, key: string): boolean {
  const first = ev.snapshot.first;
  if (first !== undefined) return firstVisible(first, key, ev.serverAccess);
  const { compiled } = ev.snapshot;
  return compiled.has(key) && (ev.serverAccess || compiled.isClientVisible(key));
}

/** One flag's result: as bulkResults, from the first-answer reader while a cold load's compile waits. */
export function oneResult(c: Context<AppEnv>, ev: Evaluation, key: string): EvaluationResult {
  return resultFor(c, ev.snapshot, key, ev.built.context, ev.now);
}

/**
 * `key`'s result for `context` (FLAG_NOT_FOUND for a flag the snapshot lacks): compiled, or from the
 * first-answer reader while a cold load's compile is deferred, which then starts once the response
 * is made (startCompile).
 */
export function resultFor(
  c: Context<AppEnv>,
  snapshot: VerifiedSnapshot,
  key: string,
  context: EvaluationContext,
  now: number,
): EvaluationResult {
  const first = snapshot.first;
  if (first === undefined) return evaluate(snapshot.compiled, key, context, now);
  const r = firstAnswer(first, key, context, now) ?? flagNotFound(key);
  compileAfter(c, snapshot);
  return r;
}

/** One flag's result with the request's preview override, when one applies. */
export function withPreview(ev: Evaluation, r: EvaluationResult): EvaluationResult {
  if (!ev.preview) return r;
  return previewOverride(ev.preview, ev.snapshot, r.key, ev.built.context, ev.now) ?? r;
}

/** Bulk results (a fresh array) with the request's preview overrides in place. */
export function withPreviews(ev: Evaluation, results: EvaluationResult[]): EvaluationResult[] {
  if (ev.preview) applyPreview(ev.preview, ev.snapshot, results, ev.built.context, ev.now);
  return results;
}

/**
 * Every flag's result for this request's context, in key order (only the client-visible ones unless
 * the caller has server access): evaluateAll on the compiled snapshot, or, while a cold load's compile
 * is deferred, the first-answer reader (src/eval/first.ts), which answers the same. The deferred
 * compile then runs a slice per timer tick once the response is made, so that a request arriving
 * meanwhile waits for one slice at most, and is answered by the reader until the compile is done.
 */
export function bulkResults(c: Context<AppEnv>, ev: Evaluation): EvaluationResult[] {
  return resultsFor(c, ev.snapshot, ev.built.context, ev.now, !ev.serverAccess);
}

/**
 * Whether bulkResults' results are the compiled snapshot's shared ones, whose body fragments are worth
 * keeping for later requests (src/http/wire.ts); the first-answer reader makes new ones per call.
 */
export function reusable(ev: Evaluation): boolean {
  return ev.snapshot.first === undefined;
}

/** Every flag's result for `context`, in key order, as bulkResults says (the gateway's too). */
export function resultsFor(
  c: Context<AppEnv>,
  snapshot: VerifiedSnapshot,
  context: EvaluationContext,
  now: number,
  clientVisibleOnly: boolean,
): EvaluationResult[] {
  const first = snapshot.first;
  if (first === undefined) return evaluateAll(snapshot.compiled, context, now, { clientVisibleOnly });
  const results = firstAnswers(first, context, now, clientVisibleOnly);
  compileAfter(c, snapshot);
  return results;
}

/**
 * The client-visible flags' values for `context` (what the gateway forwards and injects): compiled,
 * or from the first-answer reader while a cold load's compile is deferred (as resultsFor).
 */
export function valuesFor(
  c: Context<AppEnv>,
  snapshot: VerifiedSnapshot,
  context: EvaluationContext,
  now: number,
): Record<string, JsonValue> {
  if (snapshot.first === undefined)
    return evaluateValues(snapshot.compiled, context, now, { clientVisibleOnly: true });
  return valuesOf(resultsFor(c, snapshot, context, now, true));
}

/** Each result's value by flag key, leaving out results without one (as evaluateValues does). */
export function valuesOf(results: readonly EvaluationResult[]): Record<string, JsonValue> {
  const values: Record<string, JsonValue> = {};
  for (const r of results) if (r.value !== undefined) values[r.key] = r.value;
  return values;
}

/** Asks for the deferred compile of `snapshot` once this request has its response (startCompile). */
function compileAfter(c: Context<AppEnv>, snapshot: VerifiedSnapshot): void {
  if (!compiling.has(snapshot)) c.set("compileAfter", snapshot);
}

/**
 * Starts the deferred compile this request asked for, once per snapshot: a slice per timer tick, kept
 * alive by waitUntil. The app's first middleware calls it when the route (or the gateway) has its
 * response, so no slice runs before that response is made: a gateway's origin answer, or a route
 * still building its body, would otherwise wait behind the slices.
 */
export function startCompile(c: Context<AppEnv>): void {
  const snapshot = c.get("compileAfter");
  if (snapshot === undefined || compiling.has(snapshot)) return;
  compiling.add(snapshot);
  waitUntilOf(c)(compileInBackground(snapshot, c.get("rt").log));
}

/** Snapshots whose deferred compile is under way (one driver each). */
const compiling = new WeakSet<VerifiedSnapshot>();

function compileInBackground(snapshot: VerifiedSnapshot, log: (event: Record<string, unknown>) => void) {
  const started = Date.now();
  let slices = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      let done = true;
      try {
        slices++;
        done = snapshot.compileSlice?.() ?? true;
        if (done) {
          log({
            event: "snapshot_compiled",
            level: "info",
            version: snapshot.payload.version,
            slices,
            // From the first slice to the last, idle time between them included.
            ms: Date.now() - started,
          });
        }
      } catch (err) {
        // Cannot happen for a document the reader took (test/eval/first.test.ts): said loudly if it does.
        log({ event: "deferred_compile_failed", level: "error", error: String(err) });
      }
      if (done) resolve();
      else setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
  });
}

/** Where `count` sends background work: the request's waitUntil. */
function waitUntilOf(c: Context<AppEnv>): (p: Promise<unknown>) => void {
  return (p) => c.executionCtx.waitUntil(p);
}

/** The request's `request.cf.country` (edge-derived; never a header), for the counts' country dimension. */
export function cfCountry(request: Request): unknown {
  return (request as { cf?: { country?: unknown } }).cf?.country;
}

/**
 * Counts results served to this request (src/observe): one per result, in isolate memory, flushed in
 * the background. Nothing when counting is off.
 */
export function countServed(
  c: Context<AppEnv>,
  results: EvaluationResult | readonly EvaluationResult[],
  now: number,
): void {
  const counter = c.get("rt").counts.counter;
  if (counter === undefined) return;
  const country = counter.byCountry ? cfCountry(c.req.raw) : undefined;
  if (Array.isArray(results)) counter.countAll(results, country, now, waitUntilOf(c));
  else counter.count(results as EvaluationResult, country, now, waitUntilOf(c));
}

/**
 * Cache-Control of an evaluated answer: private and revalidated; with a preview token, not stored at
 * all (whether or not an override applied: the answer depends on the token either way).
 */
export function cacheControlOf(ev: Evaluation): string {
  return ev.preview ? PREVIEW_CACHE : PRIVATE_CACHE;
}
