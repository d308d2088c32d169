/**
 * The operator console in workerd: sign-in with the publish token or CONSOLE_TOKEN and the session
 * cookie (never the token; forged, expired, other-environment and old-token cookies refused), the
 * security headers on every answer, escaping of everything a flags file says, the flag list, a flag's
 * page with its history diff and counts chart, unknown flags, the locations table, Explain (DE against
 * US, a past moment, refused input, escaping), and the console's place under API_PREFIX in gateway mode.
 */
import { describe, expect, it } from "vitest";
import type { FlagsDocument } from "../../src/flags/types";
import type { Env } from "../../src/http/env";
import type { SnapshotAudit } from "../../src/snapshot/format";
import { gatewayHarness, publishGateway } from "./gateway-helpers";
import { type Harness, harness, sampleFlags, snapshot } from "./helpers";

const PUBLISH = "test-publish-token";
const CONSOLE = "console-read-only-token";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

const CSP =
  /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/;

/** Every answer of the console carries these. */
function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get("content-security-policy")).toMatch(CSP);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("cache-control")).toBe("no-store");
}

const HOSTILE = '<script>alert("x")</script>';

/** The sample flags plus a flag whose every free-text field is hostile markup. */
const consoleFlags: FlagsDocument = {
  flags: {
    ...sampleFlags.flags,
    "hostile-text": {
      description: HOSTILE,
      owner: "<img src=x onerror=alert(1)>",
      kind: "release",
      expires: "2020-01-01",
      dashboard: 'https://dash.example/"><script>alert(1)</script>',
      variants: { on: HOSTILE, off: "</pre><b>" },
      fallthrough: "off",
    },
  },
};

function audit(message: string, changes: SnapshotAudit["changes"]): SnapshotAudit {
  return { actor: "Ada <ada@example.com>", message, changes };
}

/** Publishes version 1 and 2 through the intake (so the audit trail has both), version 2 live. */
async function publishHistory(h: Harness, environment: string): Promise<void> {
  const v1Flags = structuredClone(consoleFlags);
  v1Flags.flags["half-rollout"]!.fallthrough = { split: { on: 10, off: 90 } };
  const versions = [
    await snapshot({
      environment,
      version: 1,
      // An hour before version 2, so that a moment in between has version 1 live.
      issuedAt: new Date(Date.now() - 3_600_000).toISOString(),
      flags: v1Flags,
      audit: audit("first", {
        added: Object.keys(v1Flags.flags),
        removed: [],
        changed: [],
        text: "added",
      }),
    }),
    await snapshot({
      environment,
      version: 2,
      flags: consoleFlags,
      audit: audit("widen half-rollout", {
        added: [],
        removed: [],
        changed: [
          {
            flag: "half-rollout",
            fields: ["fallthrough"],
            changes: [
              { path: "fallthrough.split.on", before: 10, after: 50 },
              { path: "fallthrough.split.off", before: 90, after: 50 },
            ],
          },
        ],
        text: "1 changed",
      }),
    }),
  ];
  for (const jws of versions) {
    const res = await h.fetch("/v1/snapshot", {
      method: "PUT",
      headers: { authorization: `Bearer ${PUBLISH}`, "content-type": "application/jose" },
      body: jws,
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }
}

/** Signs in with `token`; the answer and the cookie pair to send back (`name=value`). */
async function signIn(h: Harness, token: string, prefix = "") {
  const res = await h.fetch(`${prefix}/console/login`, {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({ token }).toString(),
    redirect: "manual",
  });
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { res, setCookie, cookie: setCookie.split(";")[0] ?? "" };
}

function world(environment: string, overrides: Partial<Env> = {}, now?: () => number): Harness {
  return harness({ EDGEFLAGS_ENV: environment, CONSOLE_TOKEN: CONSOLE, ...overrides }, now ? { now } : {});
}

describe("signing in", () => {
  it("without a session, every page answers 401 with the sign-in form, and the headers", async () => {
    const h = world("console-anon");
    for (const path of ["/console", "/console/", "/console/flags/half-rollout", "/console/locations"]) {
      const res = await h.fetch(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expectSecurityHeaders(res);
      const body = await res.text();
      expect(body).toContain('<form class="stack" method="post" action="/console/login">');
      expect(body).toContain('<label for="token">');
      expect(body).not.toContain("half-rollout</a>");
    }
    const login = await h.fetch("/console/login");
    expect(login.status).toBe(200);
    expectSecurityHeaders(login);
  });

  it("refuses a wrong token with 401 and a clear message, and sets no cookie", async () => {
    const h = world("console-wrong");
    for (const token of ["nope", "", `${PUBLISH}x`, CONSOLE.slice(0, -1)]) {
      const { res, setCookie } = await signIn(h, token);
      expect(res.status, token).toBe(401);
      expectSecurityHeaders(res);
      expect(setCookie).toBe("");
      expect(await res.text()).toContain("That token is not accepted here.");
    }
  });

  it("takes the publish token: a Secure, HttpOnly, SameSite=Strict, path-scoped cookie that is not the token", async () => {
    const h = world("console-publish");
    await publishHistory(h, "console-publish");
    const { res, setCookie, cookie } = await signIn(h, PUBLISH);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/");
    expectSecurityHeaders(res);
    expect(setCookie).toMatch(
      /^ef_console=publish\.\d+\.[\w-]+\.[\w-]+; Path=\/console; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(setCookie).not.toContain(PUBLISH);
    const list = await h.fetch("/console/", { headers: { cookie } });
    expect(list.status).toBe(200);
    const body = await list.text();
    for (const key of Object.keys(consoleFlags.flags)) expect(body).toContain(`>${key}</a>`);
    expect(body).toContain("Sign out");
  });

  it("takes the read-only CONSOLE_TOKEN, also on a worker without a publish token", async () => {
    for (const [env, overrides] of [
      ["console-ro", {}],
      ["console-ro-only", { PUBLISH_TOKEN: undefined }],
    ] as const) {
      const h = world(env, overrides);
      const { res, setCookie, cookie } = await signIn(h, CONSOLE);
      expect(res.status, env).toBe(303);
      expect(setCookie).toMatch(/^ef_console=console\./);
      expect(setCookie).not.toContain(CONSOLE);
      // Nothing published in this environment yet: the console says so.
      const list = await h.fetch("/console/", { headers: { cookie } });
      expect(list.status).toBe(503);
      expect(await list.text()).toContain("No snapshot is published");
    }
  });

  it("refuses forged, expired, other-environment and old-token cookies, and clears them", async () => {
    const t0 = Date.now();
    const h = world("console-forged", {}, () => t0);
    const { cookie } = await signIn(h, CONSOLE);
    const [name, value] = cookie.split("=") as [string, string];
    const parts = value.split(".");
    const forged = [
      `${name}=${parts.slice(0, 3).join(".")}.${"A".repeat(43)}`,
      // A later expiry with the same MAC.
      `${name}=${parts[0]}.${Number(parts[1]) + 3600}.${parts[2]}.${parts[3]}`,
      // The other role with the same MAC.
      `${name}=publish.${parts.slice(1).join(".")}`,
      `${name}=${CONSOLE}`,
      `${name}=`,
    ];
    const later = world("console-forged", {}, () => t0 + 12 * 3_600_000 + 1000);
    const otherEnv = world("console-forged-2", {}, () => t0);
    const newToken = world("console-forged", { CONSOLE_TOKEN: "rotated-token" }, () => t0);
    const cases: [Harness, string, string][] = [
      ...forged.map((c): [Harness, string, string] => [h, c, `forged ${c}`]),
      [later, cookie, "expired"],
      [otherEnv, cookie, "another environment"],
      [newToken, cookie, "signed with a token no longer configured"],
    ];
    for (const [harness, c, label] of cases) {
      const res = await harness.fetch("/console/", { headers: { cookie: c } });
      expect(res.status, label).toBe(401);
      expect(res.headers.get("set-cookie"), label).toMatch(/^ef_console=; Path=\/console; Max-Age=0;/);
      expect(await res.text(), label).toContain("Your session has ended");
    }
    // The genuine cookie works until it expires.
    expect((await h.fetch("/console/", { headers: { cookie } })).status).toBe(503);
  });

  it("refuses a sign-in posted from another site", async () => {
    const h = world("console-csrf");
    for (const headers of [{ "sec-fetch-site": "cross-site" }, { origin: "https://evil.example" }] as Record<
      string,
      string
    >[]) {
      const res = await h.fetch("/console/login", {
        method: "POST",
        headers: { ...FORM, ...headers },
        body: `token=${CONSOLE}`,
        redirect: "manual",
      });
      expect(res.status).toBe(403);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
  });

  it("signs out: the cookie is cleared and the sign-in page follows", async () => {
    const h = world("console-logout");
    const { cookie } = await signIn(h, CONSOLE);
    const res = await h.fetch("/console/logout", { method: "POST", headers: { cookie }, redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/login");
    expect(res.headers.get("set-cookie")).toMatch(/^ef_console=; Path=\/console; Max-Age=0;/);
    expectSecurityHeaders(res);
  });

  it("is off (404 page) when neither token is configured", async () => {
    const h = world("console-off", { PUBLISH_TOKEN: undefined, CONSOLE_TOKEN: undefined });
    for (const path of ["/console/", "/console/login"]) {
      const res = await h.fetch(path);
      expect(res.status).toBe(404);
      expectSecurityHeaders(res);
      expect(await res.text()).toContain("The console is not enabled");
    }
    const { res } = await signIn(h, "");
    expect(res.status).toBe(404);
  });
});

describe("pages", () => {
  let n = 0;
  /** A signed-in harness over an environment of its own, with the sample history published. */
  async function signedIn(): Promise<{ h: Harness; cookie: string }> {
    const env = `console-pages-${n++}`;
    const h = world(env, { SIGNAL_LOCATION: "TST" });
    await publishHistory(h, env);
    const { cookie } = await signIn(h, CONSOLE);
    return { h, cookie };
  }

  it("lists the live snapshot's flags with state, kind, owner, expiry, rollout and guard", async () => {
    const { h, cookie } = await signedIn();
    const res = await h.fetch("/console/", { headers: { cookie } });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const body = await res.text();
    expect(body).toContain('<a href="/console/flags/half-rollout">half-rollout</a>');
    expect(body).toMatch(/<dt>Snapshot version<\/dt><dd>2<\/dd>/);
    expect(body).toContain("Ada &lt;ada@example.com&gt;");
    expect(body).toContain("on 50% · off 50%");
    expect(body).toContain('<span class="badge bad">expired 2020-01-01</span>');
    expect(body).toContain('<td data-label="Guard">-</td>');
  });

  it("escapes everything a flags file says", async () => {
    const { h, cookie } = await signedIn();
    for (const path of ["/console/", "/console/flags/hostile-text"]) {
      const body = await (await h.fetch(path, { headers: { cookie } })).text();
      expect(body, path).not.toContain("<script");
      expect(body, path).not.toContain("<img");
      expect(body, path).not.toContain("</pre><b>");
    }
    const page = await (await h.fetch("/console/flags/hostile-text", { headers: { cookie } })).text();
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("shows a flag's definition, its history diff, the counts chart, commands and the Explain form", async () => {
    const { h, cookie } = await signedIn();
    for (let i = 0; i < 20; i++) await h.fetch(`/v1/flags?targetingKey=user-${i}`);
    const res = await h.fetch("/console/flags/half-rollout", { headers: { cookie } });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const body = await res.text();
    expect(body).toContain("split on: 50, off: 50");
    expect(body).toContain("Raw JSON of <code>half-rollout</code>");
    expect(body).toContain("<strong>Version 2</strong> · changed");
    expect(body).toContain("<code>fallthrough.split.on</code>: <del>10</del> → <ins>50</ins>");
    expect(body).toContain("<strong>Version 1</strong> · added");
    expect(body).toContain("widen half-rollout");
    expect(body).toMatch(/<svg viewBox="0 0 600 200"[^>]*role="img"/);
    expect(body).toMatch(/<polyline fill="none" stroke="#[0-9a-f]{6}"/);
    expect(body).toMatch(/on: \d+ \(/);
    expect(body).toContain("edgeflags kill half-rollout --reason &#39;...&#39; --confirm all");
    expect(body).toContain("edgeflags rollback --to 1 --confirm all");
    expect(body).toContain('<form class="stack" method="post" action="/console/flags/half-rollout/explain">');
    expect(body).toContain('<label for="ex-key">');
    const day = await h.fetch("/console/flags/half-rollout?since=24h", { headers: { cookie } });
    expect(await day.text()).toContain('<strong aria-current="true">24h</strong>');
  });

  it("answers 404 for a flag the live snapshot does not have", async () => {
    const { h, cookie } = await signedIn();
    for (const key of ["nope", "__proto__", "%3Cscript%3E"]) {
      const res = await h.fetch(`/console/flags/${key}`, { headers: { cookie } });
      expect(res.status, key).toBe(404);
      expectSecurityHeaders(res);
      expect(await res.text()).not.toContain("<script>");
    }
  });

  it("shows the version each location serves", async () => {
    const { h, cookie } = await signedIn();
    const res = await h.fetch("/console/locations", { headers: { cookie } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('<td class="key" data-label="Location">TST</td>');
    expect(body).toMatch(/<dt>Announced version<\/dt><dd>2<\/dd>/);
  });

  const explain = (h: Harness, key: string, form: string, headers: Record<string, string>) =>
    h.fetch(`/console/flags/${key}/explain`, {
      method: "POST",
      headers: { ...FORM, ...headers },
      body: form,
    });

  it("explains a flag for the form's visitor: DE and US differ, with the step that decided", async () => {
    const { h, cookie } = await signedIn();
    const de = await explain(h, "banner-text", "targetingKey=user-1&country=de&attributes=", { cookie });
    expect(de.status).toBe(200);
    expectSecurityHeaders(de);
    const deBody = await de.text();
    expect(deBody).toContain("<code>banner-text</code> = <code>&quot;Hallo&quot;</code>");
    expect(deBody).toContain("hallo, TARGETING_MATCH (german)");
    expect(deBody).toMatch(
      /<span class="mk yes" aria-hidden="true">✓<\/span><span class="sr">holds: <\/span>rule german: matched/,
    );
    expect(deBody).toContain("geo.country in [&quot;DE&quot;,&quot;AT&quot;] (geo.country = &quot;DE&quot;)");
    expect(deBody).toContain("Version 2 (live now)");
    // The form comes back filled in, to try another visitor.
    expect(deBody).toContain(
      'name="country" autocomplete="off" maxlength="2" pattern="[A-Za-z]{2}" placeholder="DE" value="de"',
    );
    const us = await (
      await explain(h, "banner-text", "targetingKey=user-1&country=US&region=us-ny&continent=na", { cookie })
    ).text();
    expect(us).toContain("location US/NY/NA");
    expect(us).toContain("<code>banner-text</code> = <code>&quot;Hello&quot;</code>");
    expect(us).toMatch(/✗<\/span><span class="sr">does not hold: <\/span>rule german: no match/);
    // Attributes as JSON; a split shows its bucket against the ranges.
    const split = await (
      await explain(
        h,
        "half-rollout",
        `targetingKey=user-7&attributes=${encodeURIComponent('{"plan":"pro"}')}`,
        {
          cookie,
        },
      )
    ).text();
    expect(split).toMatch(
      /split by key &quot;user-7&quot;, salt &quot;half-rollout&quot;: bucket \d+ of 100 -&gt; (on|off)/,
    );
    expect(split).toContain("attributes {&quot;plan&quot;:&quot;pro&quot;}");
  });

  it("explains as of a past moment with the version live then", async () => {
    const { h, cookie } = await signedIn();
    // Version 1 (half-rollout at 10 %) was live from an hour before version 2.
    const at = encodeURIComponent(new Date(Date.now() - 1_800_000).toISOString());
    const body = await (await explain(h, "half-rollout", `targetingKey=user-7&at=${at}`, { cookie })).text();
    expect(body).toContain("Version 1 (the version live then)");
    expect(body).toContain("on [0, 10)  off [10, 100)");
  });

  it.each([
    ["a country of three letters", "country=DEU", 400, "Country takes two letters"],
    [
      "a region that is no subdivision code",
      "country=US&region=New%20York",
      400,
      "Region takes a subdivision code",
    ],
    ["an unknown continent", "continent=XX", 400, "Continent takes one of"],
    ["attributes that are not JSON", "attributes=%7Bplan", 400, "Attributes must be JSON"],
    ["attributes that are a list", "attributes=%5B1%5D", 400, "Attributes must be a JSON object"],
    ["a bad time", "at=yesterday", 400, "At takes an ISO time"],
    [
      "a time before the first version",
      "at=2001-01-01T00%3A00%3A00Z",
      404,
      "is before the first recorded version",
    ],
  ] as [
    string,
    string,
    number,
    string,
  ][])("refuses %s with a short message, the form kept", async (_, form, status, message) => {
    const { h, cookie } = await signedIn();
    const res = await explain(h, "half-rollout", form, { cookie });
    expect(res.status).toBe(status);
    expectSecurityHeaders(res);
    const body = await res.text();
    expect(body).toContain('<p class="error" role="alert">');
    expect(body).toContain(message);
    expect(body).toContain('<form class="stack" method="post"');
  });

  it("explains only with a session, only from the console's own pages, and escapes what it echoes", async () => {
    const { h, cookie } = await signedIn();
    expect((await explain(h, "half-rollout", "targetingKey=u", {})).status).toBe(401);
    expect(
      (await explain(h, "half-rollout", "targetingKey=u", { cookie, "sec-fetch-site": "cross-site" })).status,
    ).toBe(403);
    const hostile = encodeURIComponent(HOSTILE);
    const res = await explain(
      h,
      "hostile-text",
      `targetingKey=${hostile}&attributes=${encodeURIComponent(JSON.stringify({ x: HOSTILE }))}`,
      { cookie },
    );
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain("<script>");
    expect(body).toContain("&lt;script&gt;");
    const missing = await explain(h, "nope", "targetingKey=u", { cookie });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("Version 2 has no flag nope.");
  });

  it("never puts a token in a page, a link or a redirect", async () => {
    const { h, cookie } = await signedIn();
    const { res } = await signIn(h, PUBLISH);
    expect(res.headers.get("location")).not.toMatch(/token|test-publish/);
    for (const path of ["/console/", "/console/flags/half-rollout", "/console/locations", "/console/login"]) {
      const body = await (await h.fetch(path, { headers: { cookie } })).text();
      expect(body, path).not.toContain(PUBLISH);
      expect(body, path).not.toContain(CONSOLE);
      expect(body, path).not.toMatch(/href="[^"]*token=/);
    }
  });
});

describe("gateway mode", () => {
  it("serves the console under API_PREFIX, with its cookie scoped there, and leaves /console to the origin", async () => {
    const environment = "console-gateway";
    await publishGateway(environment);
    const h = gatewayHarness(environment, { CONSOLE_TOKEN: CONSOLE });
    const { res, setCookie, cookie } = await signIn(h, CONSOLE, "/__edgeflags");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/__edgeflags/console/");
    expect(setCookie).toContain("Path=/__edgeflags/console;");
    const list = await h.fetch("/__edgeflags/console/", { headers: { cookie } });
    expect(list.status).toBe(200);
    const body = await list.text();
    expect(body).toContain('href="/__edgeflags/console/flags/');
    expect(body).toContain('action="/__edgeflags/console/logout"');
    // Outside the prefix, /console is the origin's path like any other.
    const origin = await h.fetch("/console/", { headers: { cookie } });
    expect(origin.headers.get("content-security-policy")).toBeNull();
  });
});
