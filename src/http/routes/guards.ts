/**
 * GET /v1/guards: the environment's guards as the aggregator judges them (armed version, verdicts
 * and window values per variant, trips, recent trip history, webhook delivery) and what this isolate
 * applies. Behind the stats token (or the publish token). POST /v1/guards/reset: a signed guard reset
 * (`edgeflags guard reset FLAG`), behind the publish token and verified by the aggregator with the
 * worker's keys and policy; this isolate applies the result at once, the others within a signal check.
 * I/O: the aggregator.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { GuardJudge } from "../../observe/types";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { readJson } from "../request";

export const guardsRoutes = new Hono<AppEnv>();

function judgeOf(c: Context<AppEnv>): GuardJudge {
  const aggregator = c.get("rt").counts.aggregator;
  if (!aggregator)
    throw new ApiError("guards_disabled", "guards are judged by the AGGREGATOR binding, which is not bound");
  return aggregator() as unknown as GuardJudge;
}

function bearer(c: Context<AppEnv>): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
}

guardsRoutes.get("/", async (c) => {
  const rt = c.get("rt");
  if (!rt.config.statsToken && !rt.config.publishToken) {
    throw new ApiError("stats_disabled", "set STATS_TOKEN (or PUBLISH_TOKEN) on the worker to read guards");
  }
  if (!(await rt.isStatsToken(bearer(c)))) throw new ApiError("unauthorized");
  // The isolate's clock (tests inject one): flushed windows and verdicts share it.
  const now = rt.signal.now();
  const judge = judgeOf(c);
  // Locally the reading isolate's own counts are judged too.
  await rt.counts.counter?.flushNow(now);
  const answer = await judge.guards({ environment: rt.config.environment, now });
  c.header("Cache-Control", "no-store");
  return c.json({ ...answer, environment: rt.config.environment, served: rt.guards.status() });
});

guardsRoutes.post("/reset", async (c) => {
  const rt = c.get("rt");
  if (!rt.config.publishToken) throw new ApiError("intake_disabled");
  if (!(await rt.isPublishToken(bearer(c)))) throw new ApiError("unauthorized");
  const body = (await readJson(c)) as { token?: unknown } | null;
  if (typeof body?.token !== "string") throw new ApiError("bad_request", 'send {"token": "<signed reset>"}');
  const result = await judgeOf(c).resetGuard(body.token, Date.now());
  if (!result.ok) throw new ApiError("invalid_reset", `the guard reset was refused: ${result.problem}`);
  rt.guards.update(result.signal);
  return c.json({ ok: true, gen: result.signal.gen, version: result.signal.version });
});
