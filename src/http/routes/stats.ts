/**
 * GET /v1/stats?flag=F&since=1h: served counts per flag and variant in per-minute buckets, and when
 * each flag was last evaluated, from the environment's aggregator (src/observe). Behind a bearer
 * token: STATS_TOKEN (read-only) or the publish token, since counts tell which features are live.
 * This isolate's own pending counts are flushed first, so a local run reads its own requests.
 * I/O: the aggregator.
 */
import { Hono } from "hono/tiny";
import { MAX_NAME_LENGTH } from "../../flags/defaults";
import { RETENTION_MS, type StatsAnswer, type StatsQuery } from "../../observe/types";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { queryPairs } from "../request";
import type { Runtime } from "../runtime";

export const statsRoutes = new Hono<AppEnv>();

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000 };
/** When `since` is not given. */
const DEFAULT_SINCE_MS = 3_600_000;

/** `since`: `90m`, `1h`, `24h` (at most the aggregator's 24 h retention). Epoch ms. */
export function parseSince(text: string | undefined, now: number): number {
  if (text === undefined) return now - DEFAULT_SINCE_MS;
  const m = /^(\d{1,5})([mh])$/.exec(text);
  const ms = m ? Number(m[1]) * (UNITS[m[2] as string] as number) : Number.NaN;
  if (!(ms > 0) || ms > RETENTION_MS) {
    throw new ApiError("bad_request", "since takes a duration from 1m to 24h, such as 90m or 1h");
  }
  return now - ms;
}

statsRoutes.get("/", async (c) => {
  const rt = c.get("rt");
  if (!rt.config.statsToken && !rt.config.publishToken) {
    throw new ApiError("stats_disabled", "set STATS_TOKEN (or PUBLISH_TOKEN) on the worker to read counts");
  }
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!(await rt.isStatsToken(match?.[1]))) throw new ApiError("unauthorized");
  const url = c.req.url;
  const q = url.indexOf("?");
  let flag: string | undefined;
  let since: string | undefined;
  for (const [name, value] of queryPairs(q < 0 ? "" : url.slice(q + 1))) {
    if (name === "flag") flag ??= value;
    else if (name === "since") since ??= value;
  }
  if (flag !== undefined && (flag === "" || flag.length > MAX_NAME_LENGTH)) {
    throw new ApiError("bad_request", `flag takes a flag key (at most ${MAX_NAME_LENGTH} characters)`);
  }
  const now = Date.now();
  const answer = await readStats(rt, {
    ...(flag === undefined ? {} : { flag }),
    since: parseSince(since, now),
    now,
  });
  c.header("Cache-Control", "no-store");
  return c.json(answer);
});

/** What GET /v1/stats answers: the aggregator's counts, and whether this worker counts. */
export type StatsView = StatsAnswer & { environment: string; counting: string };

/**
 * The counts behind GET /v1/stats (and the console's chart): this isolate's pending counts are
 * flushed first, then the aggregator is asked. `stats_disabled` without an AGGREGATOR binding.
 */
export async function readStats(rt: Runtime, query: StatsQuery): Promise<StatsView> {
  const aggregator = rt.counts.aggregator;
  if (!aggregator) {
    throw new ApiError(
      "stats_disabled",
      "this worker keeps no counts to read (no AGGREGATOR binding; Analytics Engine counts are read with its SQL API)",
    );
  }
  await rt.counts.counter?.flushNow(query.now);
  const answer = await aggregator().stats(query);
  return {
    ...answer,
    environment: rt.config.environment,
    counting: rt.counts.counter ? "on" : `off (${rt.counts.off})`,
  };
}
