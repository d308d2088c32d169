/**
 * One JSON call to the worker's read endpoints for the CLI (`stats`, `report`, `explain`): the
 * request with a timeout, and every failure as a CliError that says what to fix - unreachable, a
 * refused credential (naming the setting to check), a worker without the route, anything else that
 * is not an edgeflags worker, or the worker's own error message and exit code. I/O: the worker.
 */
import type { StatsAnswer } from "../observe/types";
import type { Settings } from "./config";
import { CliError, EXIT } from "./output";
import { fetchFailureCause } from "./wait";

interface ErrorBody {
  error?: string;
  message?: string;
}

export interface WorkerCall {
  /** Worker base URL (in gateway mode, with the API prefix). */
  url: string;
  /** e.g. `GET /v1/stats?since=1m`, `POST /v1/explain`. */
  route: string;
  headers: Record<string, string>;
  body?: string;
  /** What a 401 means, e.g. "the token: check EDGEFLAGS_STATS_TOKEN". */
  refused: string;
  /** Prefix of the worker's own error messages, e.g. "reading counts". */
  doing: string;
  timeoutMs?: number;
}

/** The worker's JSON answer, or a CliError. A 400 exits as a usage error, a 5xx as I/O, the rest 1. */
export async function callWorker<T>(call: WorkerCall): Promise<T> {
  const where = `worker ${call.url}`;
  const timeoutMs = call.timeoutMs ?? 30_000;
  const space = call.route.indexOf(" ");
  const method = call.route.slice(0, space);
  const path = call.route.slice(space + 1);
  let res: Response;
  try {
    res = await fetch(`${call.url}${path}`, {
      method,
      headers: call.headers,
      ...(call.body === undefined ? {} : { body: call.body }),
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
    | (T & ErrorBody & Record<string, unknown>)
    | undefined;
  if (res.ok && body !== undefined) return body;
  if (res.status === 401) throw new CliError(EXIT.problems, `the ${where} refused ${call.refused}`);
  const route = `${method} ${path.split("?")[0]}`;
  if (body?.error === undefined || (res.status === 404 && body.error === "not_found")) {
    throw new CliError(
      EXIT.io,
      `${call.url} did not answer like an edgeflags worker with ${route} (HTTP ${res.status}): deploy the current worker, and check the URL (in gateway mode it ends in the API prefix, e.g. /__edgeflags)`,
    );
  }
  const code = res.status >= 500 ? EXIT.io : res.status === 400 ? EXIT.usage : EXIT.problems;
  throw new CliError(code, `${call.doing}: ${body.message ?? res.statusText}`, {
    status: res.status,
    ...body,
  });
}

/** The worker's counts answer: the aggregator's counts, and whether this worker is counting. */
export type StatsReply = StatsAnswer & { counting?: string };

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
export function fetchStats(
  access: { url: string; token: string },
  query: Record<string, string>,
): Promise<StatsReply> {
  return callWorker<StatsReply>({
    url: access.url,
    route: `GET /v1/stats?${new URLSearchParams(query)}`,
    headers: { authorization: `Bearer ${access.token}` },
    refused: "the token: check EDGEFLAGS_STATS_TOKEN (or EDGEFLAGS_PUBLISH_TOKEN)",
    doing: "reading counts",
  });
}
