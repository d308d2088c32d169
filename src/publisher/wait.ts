/**
 * Confirms a publish: polls the worker's GET /healthz until it serves the new version (or a newer
 * one), or the timeout passes, reporting what it sees to a progress line (the version served, or that
 * the worker does not answer and is being retried). I/O: fetch.
 */
import { CliError, EXIT } from "./output";
import { type ProgressFactory, silentProgress } from "./progress";

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

export interface WaitOptions {
  /** Pause between polls, ms (default 100). */
  intervalMs?: number;
  /** Where the wait shows its progress (default: nowhere). */
  progress?: ProgressFactory;
}

/**
 * Why a fetch with `AbortSignal.timeout(timeoutMs)` failed, in a word when there is one
 * (ECONNREFUSED...), or that it timed out.
 */
export function fetchFailureCause(err: unknown, timeoutMs: number): string {
  const e = err as { cause?: { code?: string }; name?: string; message?: string };
  if (e.cause?.code) return e.cause.code;
  if (e.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  return e.message ?? String(err);
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
  options: WaitOptions = {},
): Promise<LiveHealth> {
  const intervalMs = options.intervalMs ?? 100;
  const progress = (options.progress ?? silentProgress)(`waiting for the worker to serve version ${version}`);
  const requestTimeoutMs = Math.min(5000, timeoutMs);
  const started = performance.now();
  let seen: string = "no answer yet";
  try {
    while (true) {
      try {
        const res = await fetch(`${url}/healthz`, {
          headers: { "cache-control": "no-cache" },
          signal: AbortSignal.timeout(requestTimeoutMs),
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
        progress.update(typeof body.version === "number" ? `serving ${body.version}` : "serving none yet");
      } catch (err) {
        if (err instanceof CliError) throw err;
        const cause = fetchFailureCause(err, requestTimeoutMs);
        seen = `no answer (${cause})`;
        progress.update(`no answer from ${url}: ${cause}; retrying`);
      }
      if (performance.now() - started + intervalMs > timeoutMs) break;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    progress.done();
  }
  throw new CliError(
    EXIT.io,
    `version ${version} is stored, but ${url}/healthz still reports ${seen} after ${Math.round(timeoutMs / 1000)} s; it may yet go live (the worker re-reads KV every REFRESH_INTERVAL_SECONDS)`,
  );
}
