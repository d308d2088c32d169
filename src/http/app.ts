/**
 * The Hono app: middleware (runtime, CORS, body limits) and routes. Errors are mapped to status and
 * body in `onError`, the one place that knows both; causes go to the log, never to the client.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { Hono } from "hono/tiny";
import { consoleRoutes } from "../console/index";
import { gateway, routePath } from "../gateway/index";
import { errorAnswer } from "./answer";
import type { AppEnv } from "./app-env";
import type { Config } from "./config";
import { TARGETING_KEY_HEADER } from "./context";
import { ApiError, errorResponse } from "./errors";
import { startCompile } from "./evaluation";
import { EVENTS_PATH, eventsRoutes } from "./routes/events";
import { explainRoutes } from "./routes/explain";
import { flagsRoutes } from "./routes/flags";
import { guardsRoutes } from "./routes/guards";
import { healthRoutes } from "./routes/healthz";
import { intakeRoutes } from "./routes/intake";
import { ofrepRoutes } from "./routes/ofrep";
import { outcomesRoutes } from "./routes/outcomes";
import { statsRoutes } from "./routes/stats";
import { type RuntimeOptions, runtimeCache } from "./runtime";

export type AppOptions = RuntimeOptions;

/**
 * A middleware built from the isolate's settings on first use, then reused: the settings are fixed
 * per isolate, so building it per request would only make garbage.
 */
function perConfig(build: (config: Config) => MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  const built = new WeakMap<Config, MiddlewareHandler<AppEnv>>();
  return (c, next) => {
    const config = c.get("rt").config;
    let handler = built.get(config);
    if (!handler) {
      handler = build(config);
      built.set(config, handler);
    }
    return handler(c, next);
  };
}

const NOTHING_NEXT = async () => {};

/**
 * Runs a header-setting middleware (Hono's CORS) after the route rather than before it, except for
 * preflights, which it answers itself. Before the route it would set its headers on a placeholder
 * response that Hono then copies into the route's response: three Response objects a request
 * instead of one, the largest single cost of a GET /v1/flags in workerd (BENCHMARKS.md).
 */
function afterRoute(middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return middleware(c, next);
    await next();
    await middleware(c, NOTHING_NEXT);
  };
}

/** Refuses a body larger than `limit(config)` bytes before anything parses it. */
function limitBody(limit: (config: Config) => number): MiddlewareHandler<AppEnv> {
  return perConfig((config) =>
    bodyLimit({
      maxSize: limit(config),
      onError: () => {
        throw new ApiError("payload_too_large");
      },
    }),
  );
}

/** Builds the worker's HTTP app. Each app keeps its own per-isolate runtime cache. */
export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const runtime = runtimeCache(options);
  // In gateway mode the API sits under API_PREFIX; routePath strips it so routes keep their paths.
  const app = new Hono<AppEnv>({ getPath: routePath });

  app.use("*", async (c, next) => {
    const rt = await runtime(c.env);
    c.set("rt", rt);
    // Where this isolate runs, for the beacon's location table: one property read per request.
    rt.signal.watcher?.locate((c.req.raw as { cf?: { colo?: unknown } }).cf?.colo);
    await next();
    // A cold load's deferred compile (src/eval/first.ts) starts once the response is made.
    startCompile(c);
  });
  app.use("*", gateway({ log: options.log, now: options.now }));

  const corsFor = perConfig(({ corsOrigins: origins }) =>
    afterRoute(
      cors({
        origin: origins === "*" ? "*" : origins,
        credentials: origins !== "*",
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: [
          "Content-Type",
          "Authorization",
          "If-None-Match",
          "X-API-Key",
          TARGETING_KEY_HEADER,
          // A reconnecting EventSource sends it.
          "Last-Event-ID",
        ],
        exposeHeaders: ["ETag"],
        maxAge: 600,
      }),
    ),
  );
  // hono/tiny's "/x/*" also matches "/x" itself: one registration covers both.
  app.use("/v1/flags/*", corsFor);
  app.use(`${EVENTS_PATH}/*`, corsFor);
  // Outcome events (POST): refused before parsing past EVENTS_MAX_BODY_BYTES.
  const eventsLimit = limitBody((config) => config.events.maxBodyBytes);
  app.use(`${EVENTS_PATH}/*`, (c, next) => (c.req.method === "POST" ? eventsLimit(c, next) : next()));
  app.use(
    "/ofrep/*",
    corsFor,
    limitBody((config) => config.maxBodyBytes),
  );
  // Explain (server-side, no CORS): the evaluation routes' body limit.
  app.use(
    "/v1/explain/*",
    limitBody((config) => config.maxBodyBytes),
  );
  const snapshotLimit = limitBody((config) => config.maxSnapshotBytes);
  app.use("/v1/snapshot/*", snapshotLimit);

  app.route("/healthz", healthRoutes);
  app.route("/v1/flags", flagsRoutes);
  app.route(EVENTS_PATH, eventsRoutes);
  app.route(EVENTS_PATH, outcomesRoutes);
  app.route("/ofrep/v1", ofrepRoutes);
  app.route("/v1/snapshot", intakeRoutes);
  app.route("/v1/stats", statsRoutes);
  app.route("/v1/explain", explainRoutes);
  // The read-only operator console (src/console): HTML pages, under API_PREFIX too in gateway mode.
  app.route("/console", consoleRoutes);
  app.use(
    "/v1/guards/*",
    limitBody((config) => config.maxBodyBytes),
  );
  app.route("/v1/guards", guardsRoutes);

  app.notFound((c) => {
    const { status, body } = errorResponse("not_found");
    return c.json(body, status as 404);
  });

  app.onError((err, c) => errorAnswer(c, err));

  return app;
}
