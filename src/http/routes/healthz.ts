/**
 * GET /healthz: which snapshot this isolate serves, how old it is and when it expires, where it came
 * from (fresh, or the last good one after a failed refresh or a refused rollback), the last error,
 * the version floor, the last version-signal check, this isolate's open event streams, whether
 * gateway mode is on, whether evaluation counts are kept (and why not), and the guard state applied. 200 while a snapshot
 * serves and the settings are usable, else 503.
 */
import { Hono } from "hono/tiny";
import { gatewaySettings } from "../../gateway/settings";
import type { AppEnv } from "../app-env";

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get("/", async (c) => {
  const rt = c.get("rt");
  c.header("Cache-Control", "no-store");
  if (!rt.store) {
    return c.json(
      {
        status: "misconfigured",
        environment: rt.config.environment,
        version: null,
        error: rt.configError ?? rt.config.identityError,
        warnings: rt.warnings,
      },
      503,
    );
  }
  const snapshot = await rt.store.get((p) => c.executionCtx.waitUntil(p));
  const s = rt.store.status();
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const now = Date.now();
  // Unusable identity settings refuse every request with a token: as loud as no snapshot at all.
  const identityError = rt.config.identityError;
  const body = {
    status: identityError
      ? "misconfigured"
      : !snapshot
        ? "no_snapshot"
        : s.source === "fresh"
          ? "ok"
          : "degraded",
    ...(identityError ? { error: identityError } : {}),
    environment: rt.config.environment,
    version: snapshot?.payload.version ?? null,
    issuedAt: snapshot?.payload.issuedAt ?? null,
    expiresAt: snapshot?.payload.expiresAt ?? null,
    ageSeconds: snapshot
      ? Math.max(0, Math.round((now - Date.parse(snapshot.payload.issuedAt)) / 1000))
      : null,
    // The reader's count while a cold isolate's compile is deferred (a health check must not force
    // it), else the compiled one: no walk over the flags per check.
    flags: snapshot ? (snapshot.first?.keys.length ?? snapshot.compiled.keys.length) : 0,
    source: s.source,
    loadedAt: iso(s.loadedAt),
    lastCheckAt: iso(s.lastCheckAt),
    lastError: s.lastError ?? null,
    // The newest version announced where a KV writer cannot write: nothing older is loaded.
    floor: {
      version: s.floor.version,
      announcedAt: iso(s.floor.announcedAt),
      checkedAt: iso(s.floor.checkedAt),
      ...(s.floor.reason ? { reason: s.floor.reason } : {}),
      ...(s.floor.error ? { error: s.floor.error } : {}),
    },
    signal: rt.signal.watcher?.status() ?? {
      enabled: false,
      reason: rt.signal.off,
      intervalSeconds: rt.config.signalIntervalMs / 1000,
      lastCheck: null,
      lastUpdate: null,
    },
    streams: rt.streams
      ? { enabled: true, open: rt.streams.size, max: rt.streams.limits.maxStreams }
      : { enabled: false },
    gateway: gatewayStatus(c.env, snapshot?.payload.flags.gates?.length ?? 0),
    counts: rt.counts.counter?.status() ?? { enabled: false, reason: rt.counts.off },
    // Guards (src/guard): trips honoured for the served snapshot, bake-held steps, ignored claims.
    guards: rt.guards.status(),
    warnings: rt.warnings,
  };
  return c.json(body, snapshot && !identityError ? 200 : 503);
});

/** Gateway mode as this isolate runs it: where the API lives, how many gates, which origin. */
function gatewayStatus(env: AppEnv["Bindings"], gates: number) {
  const g = gatewaySettings(env);
  if (!g.enabled) return { enabled: false };
  if (g.originError)
    return { enabled: true, apiPrefix: g.apiPrefix, gates, origin: null, error: g.originError };
  const origin = env.ORIGIN ? "ORIGIN binding" : (g.originUrl?.origin ?? "the route's own origin");
  return { enabled: true, apiPrefix: g.apiPrefix, gates, origin };
}
