/**
 * Gateway mode: the worker in front of an origin. Requests outside API_PREFIX go through the gates
 * (match, evaluate the gate flag, decide) and then to the origin, with the visitor's flags in a
 * request header and, for HTML, injected into the page. I/O: the snapshot load and the origin fetch.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getPath } from "hono/utils/url";
import type { EvaluationResult } from "../eval/types";
import type { GateDenyRedirect, GateDenyRewrite, GateDenyStatus } from "../flags/types";
import { PREVIEW_CACHE } from "../http/answer";
import type { AppEnv } from "../http/app-env";
import { anonCookieHeader, type BuiltContext, buildContext } from "../http/context";
import type { Env } from "../http/env";
import { countServed, resultFor, resultsFor, valuesFor, valuesOf } from "../http/evaluation";
import { IdentityUnavailable } from "../http/identity";
import { previewOf } from "../http/preview";
import { logEvent } from "../http/runtime";
import type { EvaluationCounter } from "../observe/counter";
import { applyPreview, previewOverride } from "../preview/apply";
import type { PreviewGrant } from "../preview/token";
import type { VerifiedSnapshot } from "../snapshot/verify";
import { type Decision, decide, describeDecision } from "./decide";
import { injectFlags, isInjectable } from "./inject";
import { gatesOf, matchGate } from "./match";
import { fetchOrigin, flagsHeaderValue, type OriginTarget, originRequest } from "./origin";
import { gatePath } from "./path";
import {
  ambiguousPathResponse,
  badGatewayResponse,
  noSnapshotResponse,
  redirectResponse,
  statusResponse,
} from "./respond";
import { type GatewaySettings, gatewaySettings, underPrefix } from "./settings";

/** Response header naming the gate decision, when DECISION_HEADER=true (debugging, staging). */
export const DECISION_HEADER = "x-edgeflags-decision";

type Log = (event: Record<string, unknown>) => void;

/**
 * Hono's routing path: in gateway mode the API lives under the prefix, which is stripped so the
 * routes stay `/v1/flags`, `/healthz`, ... Paths outside it never reach a route (see `gateway`).
 */
export function routePath(request: Request, options?: { env?: unknown }): string {
  const path = getPath(request);
  const s = gatewaySettings(options?.env as Env | undefined);
  if (!s.enabled || !underPrefix(path, s.apiPrefix)) return path;
  return path.slice(s.apiPrefix.length) || "/";
}

/** Middleware: in gateway mode, answers every request outside the API prefix; otherwise a no-op. */
export function gateway(options: { log?: Log; now?: () => number } = {}): MiddlewareHandler<AppEnv> {
  const log = options.log ?? logEvent;
  const now = options.now ?? Date.now;
  return (c, next) => {
    const settings = gatewaySettings(c.env);
    if (!settings.enabled || underPrefix(getPath(c.req.raw), settings.apiPrefix)) return next();
    return handle(c, settings, log, now());
  };
}

/**
 * The verified identity, if any. A bad token is not the edge's business: the origin may want it.
 * null when the identity settings are unusable and a bearer token came: the gate cannot judge the
 * visitor (evaluating without the claims would fail open on rules that deny by a claim), so the
 * gate's `onUnavailable` policy decides, as when the gate flag cannot be evaluated.
 */
async function identityOf(c: Context<AppEnv>, log: Log): Promise<Record<string, unknown> | undefined | null> {
  try {
    return await c.get("rt").verifyIdentity(c.req.raw);
  } catch (err) {
    const unavailable = err instanceof IdentityUnavailable;
    log({
      event: unavailable ? "gateway_identity_unavailable" : "gateway_identity_ignored",
      error: (err as Error).message,
    });
    return unavailable ? null : undefined;
  }
}

async function handle(
  c: Context<AppEnv>,
  settings: GatewaySettings,
  log: Log,
  now: number,
): Promise<Response> {
  const rt = c.get("rt");
  const req = c.req.raw;
  const target: OriginTarget = { binding: c.env.ORIGIN, url: settings.originUrl };
  if (settings.originError) {
    log({ event: "gateway_misconfigured", message: settings.originError });
    return badGatewayResponse();
  }
  const snapshot = rt.store ? await rt.store.get((p) => c.executionCtx.waitUntil(p)) : undefined;
  if (!snapshot) {
    if (settings.noSnapshot === "deny") {
      log({
        event: "gate_denied",
        reason: "no-snapshot",
        status: 503,
        method: req.method,
        path: pathOf(req),
      });
      return withDecision(noSnapshotResponse(), settings, "action=deny; reason=no-snapshot");
    }
    return forward(c, settings, log, target, { decision: "action=pass; reason=no-snapshot" });
  }

  const compiled = gatesOf(snapshot);
  const trusted = now < compiled.expiresAt;
  // A preview link (src/preview) overrides gate flags and injected flags for this browser only.
  const preview = await previewOf(req, rt.keys, rt.config, now);
  const grant = trusted ? preview.grant : undefined;
  let base: BuiltContext | undefined;
  const baseContext = () => {
    base ??= buildContext({ request: req, config: rt.config });
    return base;
  };
  let gate: ReturnType<typeof matchGate>;
  if (compiled.gates.length > 0) {
    // Gates decide on the path as origins read it; a path origins read in different ways is refused
    // before any gate is consulted, whoever asks (see path.ts).
    const url = new URL(req.url);
    const path = gatePath(url.pathname);
    if (path.refused !== undefined) {
      const { refused } = path;
      log({
        event: "gate_denied",
        reason: "path",
        refused,
        status: 400,
        method: req.method,
        path: url.pathname,
      });
      return withDecision(ambiguousPathResponse(), settings, `action=deny; reason=path; refused=${refused}`);
    }
    gate = matchGate(compiled.gates, req.method, url.hostname, path.path);
  }
  let result: EvaluationResult | undefined;
  let previewed = false;
  if (gate && trusted) {
    const identity = await identityOf(c, log);
    if (identity !== null) {
      const built = identity ? buildContext({ request: req, config: rt.config, identity }) : baseContext();
      result = resultFor(c, snapshot, gate.flag, built.context, now);
      const override = grant && previewOverride(grant, snapshot, gate.flag, built.context, now);
      if (override) {
        result = override;
        previewed = true;
      }
    }
  }
  const counter = rt.counts.counter;
  if (result) countServed(c, result, now);
  const decision = decide({ gate, trusted, result });
  const described = describeDecision(decision, previewed ? "preview=applied" : undefined);
  const cookie = () => {
    const anon = base?.newAnonId ? anonCookieHeader(rt.config, base.newAnonId) : undefined;
    return [anon, preview.cookie].filter((v): v is string => v !== undefined);
  };

  if (decision.action === "deny" || decision.action === "redirect") {
    logDenial(log, decision, req, snapshot);
    const deny = decision.gate.deny;
    const res =
      decision.action === "redirect"
        ? redirectResponse(deny as GateDenyRedirect)
        : statusResponse(deny as GateDenyStatus, req.method);
    for (const set of cookie()) res.headers.append("set-cookie", set);
    return withDecision(res, settings, described);
  }
  if (decision.action === "rewrite") logDenial(log, decision, req, snapshot);

  const inject = trusted && req.method === "GET" && (settings.injectHtml || gate?.inject === true);
  let flags: { version: number; flags: Record<string, unknown> } | undefined;
  if (trusted && (settings.forwardFlags || inject)) {
    const context = baseContext().context;
    let values: Record<string, unknown>;
    if (counter) {
      // Counting needs the results themselves (evaluateValues keeps only values): the same work.
      const results = resultsFor(c, snapshot, context, now, true);
      if (grant) applyPreview(grant, snapshot, results, context, now);
      countServed(c, results, now);
      values = valuesOf(results);
    } else {
      values = valuesFor(c, snapshot, context, now);
      if (grant) previewValues(grant, snapshot, values, context, now);
    }
    flags = { version: snapshot.payload.version, flags: values };
  }
  return forward(c, settings, log, target, {
    decision: described,
    // Origin health per variant of the gating flag (src/observe/origin.ts): gated requests only.
    health: counter && gate && result?.variant !== undefined ? { counter, result, now } : undefined,
    rewrite: decision.action === "rewrite" ? (decision.gate.deny as GateDenyRewrite).rewrite : undefined,
    flags,
    inject,
    cookies: cookie(),
    preview: preview.grant !== undefined,
  });
}

/** The client-visible `values` with the preview's overrides that apply to this visitor in place. */
function previewValues(
  grant: PreviewGrant,
  snapshot: VerifiedSnapshot,
  values: Record<string, unknown>,
  context: BuiltContext["context"],
  now: number,
): void {
  for (const key of grant.flags.keys()) {
    if (!snapshot.compiled.isClientVisible(key)) continue;
    const r = previewOverride(grant, snapshot, key, context, now);
    if (r) values[key] = r.value;
  }
}

interface ForwardPlan {
  decision: string;
  rewrite?: string;
  flags?: { version: number; flags: Record<string, unknown> };
  inject?: boolean;
  cookies?: string[];
  /** The visitor has a preview token: the answer is theirs alone, and not to be stored. */
  preview?: boolean;
  /** Where the origin's answer (status class, latency) is recorded, against the gate flag's result. */
  health?: { counter: EvaluationCounter; result: EvaluationResult; now: number };
}

async function forward(
  c: Context<AppEnv>,
  settings: GatewaySettings,
  log: Log,
  target: OriginTarget,
  plan: ForwardPlan,
): Promise<Response> {
  const req = c.req.raw;
  let flagsHeader: string | undefined;
  if (plan.flags && settings.forwardFlags) {
    flagsHeader = flagsHeaderValue(plan.flags.version, plan.flags.flags);
    if (flagsHeader === undefined)
      log({ event: "gateway_flags_header_too_large", version: plan.flags.version });
  }
  let res: Response;
  const started = Date.now();
  const health = plan.health;
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  try {
    res = await fetchOrigin(originRequest(req, { target, rewrite: plan.rewrite, flagsHeader }), target);
  } catch (err) {
    health?.counter.countOrigin(health.result, 0, Date.now() - started, health.now, waitUntil);
    log({ event: "gateway_origin_failed", method: req.method, path: pathOf(req), error: String(err) });
    return withDecision(badGatewayResponse(), settings, plan.decision);
  }
  // Time to the origin's headers: one Map increment here, the flush runs in waitUntil.
  health?.counter.countOrigin(health.result, res.status, Date.now() - started, health.now, waitUntil);
  // A WebSocket handshake must go back as it came.
  if (res.status === 101 || res.webSocket) return res;
  if (plan.inject && plan.flags && isInjectable(res, req.method)) res = injectFlags(res, plan.flags);
  const cookies = plan.cookies ?? [];
  if (cookies.length === 0 && !plan.preview && !settings.decisionHeader) return res;
  res = new Response(res.body, res);
  for (const set of cookies) res.headers.append("set-cookie", set);
  if (plan.preview) res.headers.set("cache-control", PREVIEW_CACHE);
  return withDecision(res, settings, plan.decision);
}

function withDecision(res: Response, settings: GatewaySettings, decision: string): Response {
  if (settings.decisionHeader) res.headers.set(DECISION_HEADER, decision);
  return res;
}

function pathOf(req: Request): string {
  return new URL(req.url).pathname;
}

/** One structured line per denial (and rewrite): which gate, flag and variant, for whom (coarsely). */
function logDenial(log: Log, d: Decision, req: Request, snapshot: VerifiedSnapshot): void {
  if (!d.gate) return;
  const cf = (req as { cf?: { country?: unknown; colo?: unknown } }).cf;
  log({
    event: "gate_denied",
    gate: d.gate.id,
    flag: d.gate.flag,
    variant: d.variant ?? null,
    action: d.action,
    reason: d.reason,
    status: d.gate.denyStatus,
    method: req.method,
    path: pathOf(req),
    country: typeof cf?.country === "string" ? cf.country : null,
    colo: typeof cf?.colo === "string" ? cf.colo : null,
    version: snapshot.payload.version,
  });
}
