/**
 * GET /healthz: which snapshot this isolate serves, how old it is, where it came from (fresh, or the
 * last good one after a failed refresh), the last error, and the last version-signal check. 200
 * while a snapshot serves, else 503.
 */
import { Hono } from "hono/tiny";
import type { AppEnv } from "../app-env";

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get("/", async (c) => {
  const rt = c.get("rt");
  c.header("Cache-Control", "no-store");
  if (!rt.store) {
    return c.json(
      { status: "misconfigured", environment: rt.config.environment, version: null, error: rt.configError },
      503,
    );
  }
  const snapshot = await rt.store.get((p) => c.executionCtx.waitUntil(p));
  const s = rt.store.status();
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const now = Date.now();
  const body = {
    status: !snapshot ? "no_snapshot" : s.source === "fresh" ? "ok" : "degraded",
    environment: rt.config.environment,
    version: snapshot?.payload.version ?? null,
    issuedAt: snapshot?.payload.issuedAt ?? null,
    ageSeconds: snapshot
      ? Math.max(0, Math.round((now - Date.parse(snapshot.payload.issuedAt)) / 1000))
      : null,
    flags: snapshot?.compiled.keys.length ?? 0,
    source: s.source,
    loadedAt: iso(s.loadedAt),
    lastCheckAt: iso(s.lastCheckAt),
    lastError: s.lastError ?? null,
    signal: rt.signal.watcher?.status() ?? {
      enabled: false,
      reason: rt.signal.off,
      intervalSeconds: rt.config.signalIntervalMs / 1000,
      lastCheck: null,
      lastUpdate: null,
    },
  };
  return c.json(body, snapshot ? 200 : 503);
});
