/** Pass-through fidelity through the gateway to a real origin worker, and the flags header the origin gets. */
import { beforeAll, describe, expect, it } from "vitest";
import { FLAGS_HEADER, flagsHeaderValue, originRequest } from "../../src/gateway/origin";
import { type Echo, GATEWAY_VERSION, gatewayHarness, publishGateway, TRICKY_BANNER } from "./gateway-helpers";

const ENV = "gateway-origin";
beforeAll(() => publishGateway(ENV));
const gw = (overrides = {}) => gatewayHarness(ENV, overrides);
const US = { country: "US", continent: "NA" };

describe("pass-through", () => {
  it("keeps method, URL, headers and body", async () => {
    const res = await gw().fetch("/api/items/7?q=a%20b&x=1", {
      method: "PUT",
      cf: US,
      headers: {
        "content-type": "application/json",
        "x-custom": "kept",
        authorization: "Bearer for-the-origin",
        cookie: "session=abc; ef_id=visitor-12345",
      },
      body: '{"name":"ü"}',
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo.method).toBe("PUT");
    expect(echo.url).toBe("https://flags.example.test/api/items/7?q=a%20b&x=1");
    expect(echo.body).toBe('{"name":"ü"}');
    expect(echo.headers).toMatchObject({
      "content-type": "application/json",
      "x-custom": "kept",
      authorization: "Bearer for-the-origin",
      cookie: "session=abc; ef_id=visitor-12345",
    });
  });

  it("keeps status, status text, every Set-Cookie and the origin's own headers", async () => {
    const res = await gw().fetch("/status/418", { cf: US, headers: { cookie: "ef_id=visitor-12345" } });
    expect(res.status).toBe(418);
    expect(res.statusText).toBe("Custom Text");
    expect(res.headers.get("x-origin-status")).toBe("418");
    const setCookies = (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
    expect(setCookies).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(await res.text()).toBe("status 418");
    const empty = await gw().fetch("/status/204", { method: "DELETE", cf: US });
    expect(empty.status).toBe(204);
  });

  it("hands the origin's redirects to the client instead of following them", async () => {
    const res = await gw().fetch("/redirect-me", { cf: US, redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/elsewhere");
  });

  it("streams both ways: the origin's first bytes arrive before the request body is finished", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const resPromise = gw().fetch("/stream-echo", { method: "POST", body: readable, cf: US });
    const enc = new TextEncoder();
    await writer.write(enc.encode("first-chunk;"));
    const res = await resPromise;
    const reader = res.body!.getReader();
    let seen = "";
    const dec = new TextDecoder();
    // Were either body buffered, this read would wait for the end of the request: a deadlock.
    while (!seen.includes("first-chunk;")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += dec.decode(value, { stream: true });
    }
    expect(seen).toBe("first-chunk;");
    await writer.write(enc.encode("second"));
    await writer.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += dec.decode(value, { stream: true });
    }
    expect(seen).toBe("first-chunk;second");
  });

  it("drops hop-by-hop headers, including those the Connection header names", () => {
    const req = new Request("https://shop.example.test/x", {
      headers: {
        connection: "keep-alive, x-hop",
        "keep-alive": "timeout=5",
        "x-hop": "1",
        te: "trailers",
        "x-end-to-end": "kept",
      },
    });
    const out = originRequest(req, { target: {} });
    expect([...out.headers.keys()].sort()).toEqual(["x-end-to-end"]);
    expect(out.redirect).toBe("manual");
  });

  it("keeps a WebSocket upgrade's Upgrade and Connection headers", () => {
    const req = new Request("https://shop.example.test/ws", {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" },
    });
    const out = originRequest(req, { target: {} });
    expect(out.headers.get("upgrade")).toBe("websocket");
    expect(out.headers.get("connection")).toBe("Upgrade");
  });

  it("points the request at ORIGIN_URL's scheme, host and port, saying which host was asked for", () => {
    const req = new Request("https://shop.example.test/a/b?c=1");
    const out = originRequest(req, { target: { url: new URL("http://127.0.0.1:9999") } });
    expect(out.url).toBe("http://127.0.0.1:9999/a/b?c=1");
    expect(out.headers.get("x-forwarded-host")).toBe("shop.example.test");
    expect(out.headers.get("x-forwarded-proto")).toBe("https");
  });
});

describe("X-Edgeflags-Flags", () => {
  it("carries the visitor's client-visible flags and version to the origin, replacing a client-sent one", async () => {
    const res = await gw().fetch("/about", {
      cf: { country: "DE", continent: "EU" },
      headers: { "x-edgeflags-flags": '{"version":999,"flags":{"checkout-geo":true,"admin":true}}' },
    });
    const echo = (await res.json()) as Echo;
    const raw = echo.headers[FLAGS_HEADER]!;
    expect(raw).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(raw)).toEqual({
      version: GATEWAY_VERSION,
      flags: { banner: TRICKY_BANNER, "checkout-geo": true, "eu-promo": "eu" },
    });
  });

  it("is computed for the visitor's geo, and stays off when FORWARD_FLAGS=false", async () => {
    const ru = (await (await gw().fetch("/about", { cf: { country: "RU" } })).json()) as Echo;
    expect(JSON.parse(ru.headers[FLAGS_HEADER]!).flags["checkout-geo"]).toBe(false);
    const off = await gw({ FORWARD_FLAGS: "false" }).fetch("/about", {
      cf: US,
      headers: { "x-edgeflags-flags": "spoofed" },
    });
    expect(((await off.json()) as Echo).headers[FLAGS_HEADER]).toBeUndefined();
  });

  it("gives a new visitor a stable anonymous id cookie, and reuses an existing one", async () => {
    const fresh = await gw().fetch("/about", { cf: US });
    expect(fresh.headers.get("set-cookie")).toMatch(
      /^ef_id=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly/,
    );
    const known = await gw().fetch("/about", { cf: US, headers: { cookie: "ef_id=visitor-12345" } });
    expect(known.headers.get("set-cookie")).toBeNull();
  });

  it("escapes non-ASCII so the value is a valid header, and is left out when too large", () => {
    expect(flagsHeaderValue(3, { t: "é\u2028\u{1F600}" })).toBe(
      '{"version":3,"flags":{"t":"\\u00e9\\u2028\\ud83d\\ude00"}}',
    );
    expect(flagsHeaderValue(3, { big: "x".repeat(9000) })).toBeUndefined();
  });
});
