/** HTML injection through the gateway: the element, its escaping, the CSP nonce and the cache headers. */
import { beforeAll, describe, expect, it } from "vitest";
import { cspNonce, privateCacheControl, scriptSafeJson } from "../../src/gateway/inject";
import { GATEWAY_VERSION, gatewayHarness, publishGateway, TRICKY_BANNER } from "./gateway-helpers";

const ENV = "gateway-inject";
beforeAll(() => publishGateway(ENV));
const US = { country: "US", continent: "NA" };
const injecting = () => gatewayHarness(ENV, { INJECT_HTML: "true" });
const OPEN = '<script type="application/json" id="edgeflags-flags"';

/** The injected element's attributes and parsed JSON; the first `</script>` after it must close it. */
function injected(html: string): {
  attrs: string;
  data: { version: number; flags: Record<string, unknown> };
} {
  const start = html.indexOf(OPEN);
  expect(start, "element present").toBeGreaterThanOrEqual(0);
  const tagEnd = html.indexOf(">", start);
  const close = html.indexOf("</script>", tagEnd);
  return { attrs: html.slice(start + OPEN.length, tagEnd), data: JSON.parse(html.slice(tagEnd + 1, close)) };
}

describe("HTML injection", () => {
  it("puts the visitor's flags first in <head>, as JSON that cannot close the element", async () => {
    const res = await injecting().fetch("/html/home", { cf: US, headers: { cookie: "ef_id=visitor-12345" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.indexOf(OPEN)).toBe(html.indexOf("<head>") + "<head>".length);
    const { data } = injected(html);
    expect(data).toEqual({
      version: GATEWAY_VERSION,
      flags: { banner: TRICKY_BANNER, "checkout-geo": true, "eu-promo": "other" },
    });
    // The only </script> is the element's own closing tag (and the page is otherwise intact).
    expect(html.split("</script>")).toHaveLength(2);
    expect(html).not.toContain("<!--");
    expect(html).toContain(
      "<title>page /html/home</title></head><body><h1>page /html/home</h1></body></html>",
    );
  });

  it("makes the page private to the visitor: Cache-Control, Vary, no ETag, Last-Modified or Content-Length", async () => {
    const res = await injecting().fetch("/html/home", { cf: US });
    expect(res.headers.get("cache-control")).toBe("private, max-age=60");
    expect(res.headers.get("vary")).toBe("Cookie");
    expect(res.headers.get("etag")).toBeNull();
    expect(res.headers.get("last-modified")).toBeNull();
    expect(res.headers.get("content-length")).toBeNull();
    const varied = await injecting().fetch("/html/home?vary=Accept-Encoding", { cf: US });
    expect(varied.headers.get("vary")).toBe("Accept-Encoding, Cookie");
  });

  it("copies the nonce from the page's Content-Security-Policy", async () => {
    const csp = encodeURIComponent("default-src 'self'; script-src 'nonce-r4nd0m+/=' 'strict-dynamic'");
    const res = await injecting().fetch(`/html/home?csp=${csp}`, { cf: US });
    expect(injected(await res.text()).attrs).toBe(' nonce="r4nd0m+/="');
    const none = await injecting().fetch("/html/home", { cf: US });
    expect(injected(await none.text()).attrs).toBe("");
  });

  it("falls back to the start of <body> for pages without a <head>", async () => {
    const html = await (await injecting().fetch("/html/bare?nohead=1", { cf: US })).text();
    expect(html.indexOf(OPEN)).toBe(html.indexOf("<body>") + "<body>".length);
    expect(injected(html).data.version).toBe(GATEWAY_VERSION);
  });

  it("leaves JSON and CSS untouched, byte for byte and header for header", async () => {
    const json = await injecting().fetch("/data.json", { cf: US });
    expect(await json.text()).toBe('{"html":"<head></head>"}');
    expect(json.headers.get("cache-control")).toBe("public, max-age=60");
    expect(json.headers.get("etag")).toBe('"j"');
    const css = await injecting().fetch("/style.css", { cf: US });
    expect(await css.text()).toBe("head { display: none } /* <head></head> */");
    expect(css.headers.get("vary")).toBeNull();
  });

  it("injects only where a gate asks when INJECT_HTML is off, and never for HEAD", async () => {
    const h = gatewayHarness(ENV);
    const gated = await (await h.fetch("/checkout/html/page", { cf: US })).text();
    expect(injected(gated).data.flags["checkout-geo"]).toBe(true);
    const plain = await h.fetch("/html/home", { cf: US });
    expect(await plain.text()).not.toContain("edgeflags-flags");
    expect(plain.headers.get("cache-control")).toBe("public, max-age=60, s-maxage=600");
    const head = await injecting().fetch("/html/home", { method: "HEAD", cf: US });
    expect(head.headers.get("etag")).toBe('"origin-etag"');
  });
});

describe("injection helpers", () => {
  it("escapes <, >, &, U+2028 and U+2029 and stays JSON", () => {
    const value = { s: "</script><!--&\u2028\u2029" };
    const out = scriptSafeJson(value);
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual(value);
  });

  it.each<[string | null, string | undefined]>([
    [null, undefined],
    ["default-src 'self'", undefined],
    ["script-src 'nonce-a1'", "a1"],
    ["default-src 'nonce-d1'; script-src 'self'", undefined],
    ["default-src 'nonce-d1'", "d1"],
    ["script-src-elem 'nonce-e1'; script-src 'nonce-s1'", "e1"],
    ["img-src *, script-src 'nonce-second'", "second"],
  ])("finds the nonce in %j", (csp, nonce) => {
    expect(cspNonce(csp)).toBe(nonce);
  });

  it.each<[string | null, string]>([
    [null, "private"],
    ["public, max-age=60, s-maxage=600", "private, max-age=60"],
    ["no-cache", "private, no-cache"],
    ["private, no-store", "private, no-store"],
  ])("makes Cache-Control %j private", (input, output) => {
    expect(privateCacheControl(input)).toBe(output);
  });
});
