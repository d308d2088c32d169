/**
 * Confirms a publish: polls the worker's GET /healthz until it serves the new version (or a newer
 * one), or the timeout passes. I/O: fetch.
 */
import { CliError, EXIT } from "./output";

interface Health {
  version?: number | null;
  environment?: string;
  signal?: { enabled?: boolean; intervalSeconds?: number };
}

/** What the worker said when it first served the version. */
export interface LiveHealth {
  version: number;
  /** The worker's version-signal interval when the signal is on (other locations follow within ~1.5x). */
  signalIntervalSeconds: number | null;
}

/**
 * Resolves once `url`/healthz reports `version` or later for `environment`; throws CliError (exit 3)
 * on timeout, and at once (exit 1) when the worker serves another environment: its versions say
 * nothing about this publish.
 */
export async function waitUntilLive(
  url: string,
  environment: string,
  version: number,
  timeoutMs: number,
  intervalMs = 100,
): Promise<LiveHealth> {
  const started = performance.now();
  let seen: string = "no answer yet";
  while (true) {
    try {
      const res = await fetch(`${url}/healthz`, {
        headers: { "cache-control": "no-cache" },
        signal: AbortSignal.timeout(Math.min(5000, timeoutMs)),
      });
      const body = (await res.json()) as Health;
      if (typeof body.environment === "string" && body.environment !== environment) {
        throw new CliError(
          EXIT.problems,
          `version ${version} is stored for ${environment}, but ${url} serves the environment ${body.environment}: check EDGEFLAGS_URL (or --url) and EDGEFLAGS_ENV`,
        );
      }
      if (typeof body.version === "number" && body.version >= version) {
        const signal = body.signal?.enabled ? (body.signal.intervalSeconds ?? null) : null;
        return { version: body.version, signalIntervalSeconds: signal };
      }
      seen = `version ${body.version ?? "none"}`;
    } catch (err) {
      if (err instanceof CliError) throw err;
      seen = `no answer (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message})`;
    }
    if (performance.now() - started + intervalMs > timeoutMs) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new CliError(
    EXIT.io,
    `version ${version} is stored, but ${url}/healthz still reports ${seen} after ${Math.round(timeoutMs / 1000)} s; it may yet go live (the worker re-reads KV every REFRESH_INTERVAL_SECONDS)`,
  );
}
