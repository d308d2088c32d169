/**
 * The console's routes under /console (under API_PREFIX too in gateway mode): sign-in and sign-out,
 * the flag list, a flag's page, the locations table, and the Explain form's target. Every page needs
 * a session (src/console/session.ts); every answer carries the console's security headers. Data comes
 * from the same functions as the API routes (the live snapshot, readStats, snapshotHistory,
 * locationTable), called directly. I/O: KV, the aggregator and the beacon, through those.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { html } from "hono/html";
import { Hono } from "hono/tiny";
import { parseInstant } from "../eval/schedule";
import type { EvaluationContext } from "../eval/types";
import { explainFlag } from "../explain/index";
import { gatewaySettings } from "../gateway/settings";
import type { AppEnv } from "../http/app-env";
import { ApiError, errorResponse } from "../http/errors";
import { secretCheck } from "../http/request";
import { snapshotLiveAt } from "../http/routes/explain";
import { locationTable, snapshotHistory } from "../http/routes/intake";
import { readStats } from "../http/routes/stats";
import type { Runtime } from "../http/runtime";
import type { GuardJudge } from "../observe/types";
import type { VerifiedSnapshot } from "../snapshot/verify";
import { flagCommands } from "./commands";
import { type ExplainAnswer, type ExplainFields, explainPage } from "./explain-section";
import { flagList } from "./flag-list";
import { CHART_RANGES, type CountsView, flagPage } from "./flag-page";
import { flagHistory } from "./history";
import { type Html, layout, securityHeaders } from "./layout";
import { locationsPage } from "./locations-page";
import { loginPage } from "./login";
import { createSession, readSession, SESSION_COOKIE, SESSION_SECONDS, type Session } from "./session";
import { flagState, type GuardVerdict } from "./summary";

export const consoleRoutes = new Hono<AppEnv>();

/** Audit versions a flag page reads for its history (each is checked against its signed snapshot). */
const HISTORY_VERSIONS = 30;
/** The locations page's activity window, seconds (GET /v1/snapshot/locations' default). */
const LOCATIONS_WITHIN_S = 600;
const HOUR_MS = 3_600_000;

/** The console's base path: `/console`, after API_PREFIX in gateway mode. */
function basePath(c: Context<AppEnv>): string {
  const g = gatewaySettings(c.env);
  return `${g.enabled ? g.apiPrefix : ""}/console`;
}

/** CONSOLE_TOKEN's constant-time check, built once per isolate's settings. */
const consoleChecks = new WeakMap<object, (t: string | undefined) => Promise<boolean>>();
function isConsoleToken(rt: Runtime, token: string): Promise<boolean> {
  let check = consoleChecks.get(rt.config);
  if (!check) {
    check = secretCheck(rt.config.consoleToken ? [rt.config.consoleToken] : []);
    consoleChecks.set(rt.config, check);
  }
  return check(token);
}

/** The value of the session cookie, if the request has one. */
function sessionCookie(c: Context<AppEnv>): string | undefined {
  for (const part of (c.req.header("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Secure everywhere but plain http on this machine (`npm start`), where browsers would drop it. */
function cookieHeader(c: Context<AppEnv>, value: string, maxAge: number): string {
  const url = new URL(c.req.url);
  const local = url.protocol === "http:" && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname);
  return `${SESSION_COOKIE}=${value}; Path=${basePath(c)}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${local ? "" : "; Secure"}`;
}

/**
 * A POST from another site, refused whatever cookie it carries (sign-in forgery). Browsers say so in
 * Sec-Fetch-Site; without it, an Origin naming another origin. Under Referrer-Policy: no-referrer
 * Chromium sends `Origin: null` for the console's own forms, so "null" decides nothing.
 */
function crossSite(c: Context<AppEnv>): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site !== "same-origin" && site !== "none";
  const origin = c.req.header("origin");
  return origin !== undefined && origin !== "null" && origin !== new URL(c.req.url).origin;
}

function page(
  c: Context<AppEnv>,
  status: number,
  title: string,
  body: Html,
  signedIn: boolean,
  current?: "flags" | "locations",
): Response | Promise<Response> {
  const environment = c.get("rt").config.environment;
  const frame = { title, base: basePath(c), environment, signedIn, ...(current ? { current } : {}) };
  return c.html(layout(frame, body), status as 200);
}

/** Where to go after signing in: a console path sent back by the form, else the flag list. */
function nextPath(text: string | null | undefined): string | undefined {
  return text && /^\/[\w\-./%]*$/.test(text) && !text.includes("//") && !text.includes("..")
    ? text
    : undefined;
}

/** The sign-in page instead of the page asked for (401), clearing a cookie that did not verify. */
function signInFirst(c: Context<AppEnv>, hadCookie: boolean): Response | Promise<Response> {
  if (hadCookie) c.header("Set-Cookie", cookieHeader(c, "", 0));
  const next = c.req.method === "GET" ? nextPath(c.req.path.replace(/^\/console/, "")) : undefined;
  const problem = hadCookie ? "Your session has ended. Sign in again." : undefined;
  return page(c, 401, "Sign in", loginPage(basePath(c), problem, next), false);
}

type Handler = (c: Context<AppEnv>, session: Session) => Response | Promise<Response>;

/** A page that needs a session: without a valid one, the sign-in page. */
function signedIn(handler: Handler) {
  return async (c: Context<AppEnv>) => {
    const rt = c.get("rt");
    const cookie = sessionCookie(c);
    const session = await readSession(rt.config, cookie, rt.signal.now());
    if (!session) return signInFirst(c, cookie !== undefined);
    return handler(c, session);
  };
}

/** The message of an API error a page shows in place of data it could not read. */
function why(err: unknown): string {
  if (err instanceof ApiError) return err.detail ?? err.message;
  throw err;
}

consoleRoutes.use("*", async (c, next) => {
  const { config } = c.get("rt");
  if (!config.publishToken && !config.consoleToken) {
    await securityHeaders(c);
    return page(
      c,
      404,
      "Not enabled",
      html`<h1>The console is not enabled</h1><p>Set <code>CONSOLE_TOKEN</code> (or <code>PUBLISH_TOKEN</code>) on the worker to turn it on.</p>`,
      false,
    );
  }
  await securityHeaders(c);
  await next();
});

consoleRoutes.use(
  "*",
  bodyLimit({
    maxSize: 8 * 1024,
    onError: (c) => c.text("request body too large", 413),
  }),
);

consoleRoutes.get("/login", (c) => page(c, 200, "Sign in", loginPage(basePath(c)), false));

consoleRoutes.post("/login", async (c) => {
  const base = basePath(c);
  if (crossSite(c))
    return page(c, 403, "Refused", loginPage(base, "Sign-in from another site is refused."), false);
  const type = c.req.header("content-type") ?? "";
  const form = /^application\/x-www-form-urlencoded\b/i.test(type)
    ? new URLSearchParams(await c.req.text())
    : new URLSearchParams();
  const token = form.get("token") ?? "";
  const rt = c.get("rt");
  // Both checks run every time: how long a refusal takes does not tell which token was close.
  const [publish, read] = await Promise.all([rt.isPublishToken(token), isConsoleToken(rt, token)]);
  const role = publish ? "publish" : read ? "console" : undefined;
  if (!role) {
    const next = nextPath(form.get("next"));
    return page(
      c,
      401,
      "Sign in",
      loginPage(
        base,
        "That token is not accepted here. Check CONSOLE_TOKEN or PUBLISH_TOKEN on the worker.",
        next,
      ),
      false,
    );
  }
  c.header(
    "Set-Cookie",
    cookieHeader(c, await createSession(rt.config, role, rt.signal.now()), SESSION_SECONDS),
  );
  return c.redirect(`${base}${nextPath(form.get("next")) ?? "/"}`, 303);
});

consoleRoutes.post("/logout", (c) => {
  if (crossSite(c)) return c.text("refused", 403);
  c.header("Set-Cookie", cookieHeader(c, "", 0));
  return c.redirect(`${basePath(c)}/login`, 303);
});

/**
 * The aggregator's verdict on each guard of `version` (empty without an aggregator, when it has not
 * armed that version yet, or cannot be read: the pages then say "declared").
 */
async function guardVerdicts(c: Context<AppEnv>, version: number): Promise<Map<string, GuardVerdict>> {
  const rt = c.get("rt");
  const aggregator = rt.counts.aggregator;
  if (!aggregator) return new Map();
  try {
    const judge = aggregator() as unknown as GuardJudge;
    const board = await judge.guards({ environment: rt.config.environment, now: rt.signal.now() });
    if (board.version !== version) return new Map();
    return new Map(board.guards.map((g) => [g.flag, g.state]));
  } catch {
    return new Map();
  }
}

/** The live snapshot, or undefined when nothing is published (or verifies) yet. */
async function live(c: Context<AppEnv>) {
  const { store } = c.get("rt");
  return store ? await store.get((p) => c.executionCtx.waitUntil(p)) : undefined;
}

function nothingPublished(c: Context<AppEnv>): Response | Promise<Response> {
  const { configError } = c.get("rt");
  return page(
    c,
    503,
    "Flags",
    html`<h1>Flags</h1><p class="notice">${configError ?? "No snapshot is published in this environment yet (or none verifies). Publish one with edgeflags publish."}</p>`,
    true,
    "flags",
  );
}

consoleRoutes.get(
  "/",
  signedIn(async (c) => {
    const snapshot = await live(c);
    if (!snapshot) return nothingPublished(c);
    const verdicts = await guardVerdicts(c, snapshot.payload.version);
    return page(
      c,
      200,
      "Flags",
      flagList(basePath(c), snapshot, c.get("rt").signal.now(), verdicts),
      true,
      "flags",
    );
  }),
);

consoleRoutes.get(
  "/flags/:key",
  signedIn(async (c) => {
    const rt = c.get("rt");
    const key = c.req.param("key") ?? "";
    const snapshot = await live(c);
    if (!snapshot) return nothingPublished(c);
    const flag = snapshot.payload.flags.flags[key];
    const base = basePath(c);
    if (!flag || !Object.hasOwn(snapshot.payload.flags.flags, key)) {
      return page(
        c,
        404,
        "No such flag",
        html`<h1>No such flag</h1><p>The live snapshot has no flag <code>${key}</code>.</p><p><a href="${base}/">All flags</a></p>`,
        true,
        "flags",
      );
    }
    const now = rt.signal.now();
    const asked = c.req.query("since");
    const since = CHART_RANGES.find((r) => r === asked) ?? "1h";
    const [counts, history, verdicts] = await Promise.all([
      readStats(rt, { flag: key, since: now - Number.parseInt(since, 10) * HOUR_MS, now }).then(
        (a): CountsView => {
          const stats = a.flags.find((f) => f.key === key) ?? {
            key,
            lastEvaluated: null,
            total: 0,
            variants: [],
          };
          return { stats, from: a.from, to: a.to, since };
        },
        (err) => ({ unavailable: why(err), since }),
      ),
      snapshotHistory(c, HISTORY_VERSIONS).then(
        (entries) => ({ versions: flagHistory(entries, key), read: entries.length }),
        (err) => ({ unavailable: why(err) }),
      ),
      guardVerdicts(c, snapshot.payload.version),
    ]);
    const verdict = verdicts.get(key);
    const state = flagState(snapshot, key, now);
    const latest = "versions" in history ? history.versions[0] : undefined;
    const commands = flagCommands({
      key,
      state,
      ...(latest?.previous === undefined ? {} : { rollbackTo: latest.previous }),
      policy: rt.keys?.policy !== undefined,
    });
    return page(
      c,
      200,
      key,
      flagPage({ base, key, flag, state, now, counts, history, commands, ...(verdict ? { verdict } : {}) }),
      true,
      "flags",
    );
  }),
);

/** Attributes a console explain may name (as many as a context may carry). */
const MAX_EXPLAIN_ATTRIBUTES = 64;

/** The form's fields as a context and moment, or what is wrong with them (for the page to say). */
function explainInput(
  f: ExplainFields,
  now: number,
): { context: EvaluationContext; at: number | undefined } | { problem: string } {
  if (f.country !== "" && !/^[A-Za-z]{2}$/.test(f.country)) {
    return { problem: "Country takes two letters, like DE." };
  }
  // `US-NY` or `NY`: the edge gives the code after the country.
  const region = f.region.toUpperCase().replace(/^[A-Z]{2}-/, "");
  if (region !== "" && !/^[A-Z0-9]{1,3}$/.test(region)) {
    return { problem: "Region takes a subdivision code, like NY or US-NY." };
  }
  if (f.continent !== "" && !/^(AF|AN|AS|EU|NA|OC|SA)$/i.test(f.continent)) {
    return { problem: "Continent takes one of AF, AN, AS, EU, NA, OC or SA." };
  }
  let attributes: Record<string, unknown> = {};
  if (f.attributes.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.attributes);
    } catch {
      return { problem: 'Attributes must be JSON, like {"plan": "pro"}.' };
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return { problem: 'Attributes must be a JSON object, like {"plan": "pro"}.' };
    }
    attributes = parsed as Record<string, unknown>;
    if (Object.keys(attributes).length > MAX_EXPLAIN_ATTRIBUTES) {
      return { problem: `At most ${MAX_EXPLAIN_ATTRIBUTES} attributes.` };
    }
  }
  let at: number | undefined;
  if (f.at.trim() !== "") {
    try {
      at = parseInstant(f.at.trim(), "at");
    } catch {
      return { problem: "At takes an ISO time with an offset, like 2026-11-27T08:00:00Z." };
    }
    if (at > now) at = undefined;
  }
  const context: EvaluationContext = {
    ...(f.targetingKey === "" ? {} : { targetingKey: f.targetingKey }),
    ...(f.country === "" && region === "" && f.continent === ""
      ? {}
      : {
          geo: {
            ...(f.country === "" ? {} : { country: f.country.toUpperCase() }),
            ...(region === "" ? {} : { regionCode: region }),
            ...(f.continent === "" ? {} : { continent: f.continent.toUpperCase() }),
          },
        }),
    attributes,
  };
  return { context, at };
}

/**
 * The Explain form's target: the same trace as POST /v1/explain (src/explain) for the form's
 * visitor, on the live snapshot or, with a past `at`, the version live then. Read-only like every
 * console page, so the console token may use it.
 */
export const explainHandler: Handler = async (c) => {
  const rt = c.get("rt");
  const key = c.req.param("key") ?? "";
  const base = basePath(c);
  const back = `${base}/flags/${encodeURIComponent(key)}`;
  const action = `${back}/explain`;
  const form = /^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")
    ? new URLSearchParams(await c.req.text())
    : new URLSearchParams();
  const fields: ExplainFields = {
    targetingKey: (form.get("targetingKey") ?? "").trim().slice(0, 256),
    country: (form.get("country") ?? "").trim().slice(0, 8),
    region: (form.get("region") ?? "").trim().slice(0, 8),
    continent: (form.get("continent") ?? "").trim().slice(0, 8),
    attributes: (form.get("attributes") ?? "").slice(0, 4096),
    at: (form.get("at") ?? "").trim().slice(0, 40),
  };
  const now = rt.signal.now();
  const show = (status: number, answer: ExplainAnswer | { problem: string }) =>
    page(c, status, `Explain ${key}`, explainPage(back, action, key, fields, answer), true, "flags");
  const input = explainInput(fields, now);
  if ("problem" in input) return show(400, input);
  let snapshot: VerifiedSnapshot | undefined;
  try {
    snapshot = input.at === undefined ? await live(c) : await snapshotLiveAt(c, input.at);
  } catch (err) {
    // `why` rethrows anything but an API error, whose status is the API's (400 too far back, 404 none).
    const problem = why(err);
    return show(errorResponse((err as ApiError).code).status, { problem });
  }
  if (!snapshot) return nothingPublished(c);
  const doc = snapshot.payload.flags;
  if (!Object.hasOwn(doc.flags, key)) {
    return show(404, { problem: `Version ${snapshot.payload.version} has no flag ${key}.` });
  }
  const at = input.at ?? now;
  const { geo, targetingKey, attributes } = input.context;
  const who = [
    targetingKey === undefined ? "no targeting key" : `key ${JSON.stringify(targetingKey)}`,
    geo === undefined
      ? "no location"
      : `location ${[geo.country, geo.regionCode, geo.continent].filter((p) => p !== undefined).join("/")}`,
    Object.keys(attributes ?? {}).length === 0 ? "no attributes" : `attributes ${JSON.stringify(attributes)}`,
  ].join(", ");
  return show(200, {
    trace: explainFlag(doc, key, input.context, at),
    version: snapshot.payload.version,
    snapshot: input.at === undefined ? "current" : "history",
    at: new Date(at).toISOString(),
    context: who,
  });
};

consoleRoutes.post("/flags/:key/explain", (c) => {
  if (crossSite(c)) return c.text("refused", 403);
  return signedIn(explainHandler)(c);
});

consoleRoutes.get(
  "/locations",
  signedIn(async (c) => {
    const rt = c.get("rt");
    const view = await locationTable(rt, LOCATIONS_WITHIN_S).catch((err) => ({ unavailable: why(err) }));
    return page(
      c,
      200,
      "Locations",
      locationsPage(view, rt.store?.peek()?.payload.version),
      true,
      "locations",
    );
  }),
);

consoleRoutes.notFound((c) =>
  page(c, 404, "Not found", html`<h1>Not found</h1><p><a href="${basePath(c)}/">All flags</a></p>`, false),
);
