/**
 * Reading the worker's GET /v1/stats for the CLI (`stats`, and `report`/`lint` for "not evaluated in
 * N days"): the URL and token from the settings, the request, and every failure as a CliError that
 * says what to fix. I/O: the worker, over HTTP.
 */
import type { StatsAnswer } from "../../observe/types";
import type { Settings } from "../config";
import { CliError, EXIT } from "../output";
import { fetchFailureCause } from "../wait";

/** The worker's answer: the aggregator's counts, and whether this worker is counting. */
export type StatsReply = StatsAnswer & { counting?: string };

interface ErrorBody {
  error?: string;
  message?: string;
}

/** The URL and token to read counts with, or a usage error naming what is missing. */
export function statsAccess(settings: Settings): { url: string; token: string } {
  if (!settings.url) {
    throw new CliError(
      EXIT.usage,
      "no worker URL: pass --url, set EDGEFLAGS_URL, or run `npm start` to write .edgeflags/config.json",
    );
  }
  const token = settings.statsToken ?? settings.publishToken;
  if (!token) {
    throw new CliError(
      EXIT.usage,
      "no token to read counts: set EDGEFLAGS_STATS_TOKEN to the worker's STATS_TOKEN (or EDGEFLAGS_PUBLISH_TOKEN)",
    );
  }
  return { url: settings.url, token };
}

/** GET /v1/stats with `query` (since, flag). */
export async function fetchStats(
  access: { url: string; token: string },
  query: Record<string, string>,
  timeoutMs = 30_000,
): Promise<StatsReply> {
  const where = `worker ${access.url}`;
  let res: Response;
  try {
    res = await fetch(`${access.url}/v1/stats?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${access.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CliError(
      EXIT.io,
      `cannot reach the ${where} (${fetchFailureCause(err, timeoutMs)}): is it running, and is the URL right?`,
    );
  }
  const isJson = res.headers.get("content-type")?.includes("json") === true;
  const body = (isJson ? await res.json().catch(() => undefined) : await res.body?.cancel()) as
    | (StatsReply & ErrorBody)
    | undefined;
  if (res.ok && body !== undefined) return body;
  const detail = body?.message ?? res.statusText;
  if (res.status === 401) {
    throw new CliError(
      EXIT.problems,
      `the ${where} refused the token: check EDGEFLAGS_STATS_TOKEN (or EDGEFLAGS_PUBLISH_TOKEN)`,
    );
  }
  if (res.status === 404 && body?.error === "not_found") {
    throw new CliError(EXIT.io, `the ${where} has no /v1/stats route: deploy the current worker`);
  }
  if (body?.error === undefined) {
    throw new CliError(
      EXIT.io,
      `${access.url} did not answer like an edgeflags worker (HTTP ${res.status}); check the URL (in gateway mode it ends in the API prefix, e.g. /__edgeflags)`,
    );
  }
  throw new CliError(res.status >= 500 ? EXIT.io : EXIT.problems, `reading counts: ${detail}`, {
    status: res.status,
    ...body,
  });
}
