/**
 * Streams the visitor's flags into HTML pages with HTMLRewriter, as a non-executable JSON script
 * element at the start of <head>, and makes the page private to that visitor. No I/O.
 */

/** The element id front-ends read: JSON.parse(document.getElementById("edgeflags-flags").textContent). */
export const FLAGS_ELEMENT_ID = "edgeflags-flags";

/**
 * JSON that can sit inside <script> without ending it: `<`, `>` and `&` escaped (no `</script>` or
 * `<!--`), and U+2028/U+2029 escaped for old JavaScript parsers. Still valid JSON.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

const NONCE = /'nonce-([A-Za-z0-9+/_=-]+)'/;

/**
 * The nonce a script element needs under the page's CSP, if any: from script-src-elem, else
 * script-src, else default-src (CSP3's fallback order for <script>), of the first policy with one.
 */
export function cspNonce(csp: string | null): string | undefined {
  if (!csp) return undefined;
  for (const policy of csp.split(",")) {
    const directives = new Map<string, string>();
    for (const d of policy.split(";")) {
      const t = d.trim();
      const sp = t.search(/\s/);
      const name = (sp < 0 ? t : t.slice(0, sp)).toLowerCase();
      if (name && !directives.has(name)) directives.set(name, sp < 0 ? "" : t.slice(sp));
    }
    for (const name of ["script-src-elem", "script-src", "default-src"]) {
      const value = directives.get(name);
      if (value === undefined) continue;
      const m = NONCE.exec(value);
      if (m) return m[1];
      break;
    }
  }
  return undefined;
}

/** Whether a response is an HTML page worth injecting into. */
export function isInjectable(response: Response, method: string): boolean {
  if (method !== "GET" || response.body === null) return false;
  if (response.status < 200 || response.status >= 300 || response.status === 204 || response.status === 206)
    return false;
  const type = response.headers.get("content-type") ?? "";
  return /^\s*text\/html\s*(;|$)/i.test(type);
}

/** `public` and `s-maxage` go (a shared cache must not keep one visitor's flags); `private` is added. */
export function privateCacheControl(value: string | null): string {
  const kept = (value ?? "")
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "" && !/^(public|private|s-maxage\s*=.*)$/i.test(d));
  return ["private", ...kept].join(", ");
}

/** The element injected: `<script type="application/json" id="edgeflags-flags" nonce="…">…</script>`. */
export function flagsElement(payload: unknown, nonce: string | undefined): string {
  const n = nonce === undefined ? "" : ` nonce="${nonce}"`;
  return `<script type="application/json" id="${FLAGS_ELEMENT_ID}"${n}>${scriptSafeJson(payload)}</script>`;
}

/**
 * The page with the flags element streamed in (at the start of <head>, or of <body> for pages
 * without a head), with cache headers made private: Cache-Control private, Vary: Cookie, and no
 * ETag, Last-Modified or Content-Length, which described the origin's bytes, not these.
 */
export function injectFlags(response: Response, payload: unknown): Response {
  const element = flagsElement(payload, cspNonce(response.headers.get("content-security-policy")));
  const out = new Response(response.body, response);
  const h = out.headers;
  h.set("cache-control", privateCacheControl(h.get("cache-control")));
  const vary = h.get("vary");
  if (!vary) h.set("vary", "Cookie");
  else if (!/(^|,)\s*(cookie|\*)\s*(,|$)/i.test(vary)) h.set("vary", `${vary}, Cookie`);
  h.delete("etag");
  h.delete("last-modified");
  h.delete("content-length");
  let done = false;
  const prepend = {
    element(e: Element) {
      if (done) return;
      done = true;
      e.prepend(element, { html: true });
    },
  };
  return new HTMLRewriter().on("head", prepend).on("body", prepend).transform(out);
}
