/**
 * The console's page frame: the document shell (skip link, header, navigation, sign-out), its one
 * stylesheet inline, and the response headers every console page carries: a strict CSP that allows
 * exactly that stylesheet by hash, no caching, no referrer, no framing. No I/O beyond WebCrypto.
 */
import type { Context } from "hono";
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { AppEnv } from "../http/app-env";

/** What a page template returns: HTML whose text parts were escaped when it was built. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

// Colours meet WCAG AA contrast on white; no web fonts, no images, nothing from elsewhere.
const CSS = `*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
a{color:#0b57d0}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em 1em;z-index:1}
.skip:focus{left:.5em;top:.5em}
header{background:#1d2430;color:#fff}
header .in{display:flex;flex-wrap:wrap;gap:.25em 1.25em;align-items:center;padding:.6em 1em;max-width:76rem;margin:0 auto}
header a{color:#fff}
header .brand{font-weight:700;text-decoration:none}
header .env{color:#c3cad6;font-size:.85em;border:1px solid #5b6472;border-radius:3px;padding:0 .4em;margin-right:auto}
header nav{display:flex;gap:1em}
header form{margin:0}
header button{background:none;border:1px solid #8a94a6;color:#fff;border-radius:4px;padding:.15em .6em;font:inherit;cursor:pointer}
main{display:block;max-width:76rem;margin:0 auto;padding:1em}
h1{font-size:1.45em;margin:.4em 0;overflow-wrap:anywhere}
h1 code{font:inherit}
h1 .badge{font-size:.55em;vertical-align:.25em}
caption{text-align:left;padding:.3em 0}
h2{font-size:1.15em;margin:1.6em 0 .5em}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.25em 1em 1em;margin:1em 0}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.5em 1.5em;margin:0}
.facts dt,th{font-size:.8em;color:#5b6472;text-transform:uppercase;letter-spacing:.04em}
.facts dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45em .6em;border-bottom:1px solid #e4e7ec;vertical-align:top}
th{white-space:nowrap}
td.key{font-weight:600;white-space:nowrap}
.badge{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.85em;white-space:nowrap;background:#e8ebf0}
.on{background:#d8f0de;color:#0d5523}.off{background:#fde0de;color:#8a1c12}.sched{background:#e3ecfb;color:#153d7a}
.warn{background:#fff1c7;color:#6b4b00}.bad{background:#fde0de;color:#8a1c12}
.muted{color:#5b6472}
code,pre,kbd{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f1f3f6;border-radius:4px;padding:.6em .8em;overflow-x:auto;margin:.4em 0}
ul.diff{list-style:none;padding:0;margin:.3em 0}
ul.diff li{padding:.1em 0;overflow-wrap:anywhere}
del{background:#fde0de;color:#8a1c12;text-decoration:line-through}
ins{background:#d8f0de;color:#0d5523;text-decoration:none}
ol.history{list-style:none;padding:0;margin:0}
ol.history>li{border-top:1px solid #e4e7ec;padding:.6em 0}
.chart{margin:0}
.plot{display:flex;gap:.4em;height:12rem}
.plot svg{flex:1;min-width:0;height:100%;display:block}
.yaxis{display:flex;flex-direction:column;justify-content:space-between;text-align:right;font-size:.8em;color:#5b6472;line-height:1;min-width:2.5em}
.xaxis{display:flex;justify-content:space-between;font-size:.8em;color:#5b6472;padding-left:2.9em}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1em;padding:0;margin:.3em 0;list-style:none}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-.05em}
.c0{background:#0b57d0}.c1{background:#c5221f}.c2{background:#188038}.c3{background:#b06000}.c4{background:#8430ce}.c5{background:#5b6472}
form.stack{display:grid;gap:.7em;max-width:28rem}
label{font-weight:600;display:block}
input,textarea{font:inherit;padding:.4em .5em;border:1px solid #8a94a6;border-radius:4px;width:100%;max-width:100%}
button.primary{font:inherit;font-weight:600;background:#0b57d0;color:#fff;border:0;border-radius:4px;padding:.5em 1.1em;cursor:pointer;justify-self:start}
.hint{font-size:.85em;color:#5b6472;font-weight:400}
.error{border-left:4px solid #c5221f;background:#fde0de;padding:.5em .8em;border-radius:4px}
.notice{border-left:4px solid #b06000;background:#fff1c7;padding:.5em .8em;border-radius:4px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
ol.trace{list-style:none;padding:0;margin:.4em 0;font:13px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.d2{padding-left:1.2em}.d3{padding-left:2.4em}.d4{padding-left:3.6em}.d5{padding-left:4.8em}.d6{padding-left:6em}.d7{padding-left:7.2em}.d8{padding-left:8.4em}
.mk{display:inline-block;width:1.3em;font-weight:700}.yes{color:#0d5523}.no{color:#8a1c12}
@media (max-width:40rem){body{font-size:14px}main{padding:.6em}section{padding:.2em .7em .8em}
header .in{padding:.5em .6em;gap:.25em .8em}.wide{display:none}
.plot{height:9rem}
table.reflow thead{position:absolute;left:-9999px}
table.reflow tr{display:block;border-bottom:1px solid #dde1e7;padding:.4em 0}
table.reflow td{display:flex;gap:1em;border:0;padding:.15em .2em}
table.reflow td::before{content:attr(data-label);flex:0 0 6.5em;font-size:.8em;color:#5b6472;padding-top:.15em}
table.reflow td.key{white-space:normal;overflow-wrap:anywhere;font-size:1.05em}
table.reflow td.key::before{display:none}}`;

let cspPromise: Promise<string> | undefined;

/** The CSP: nothing but this stylesheet (by hash), data: images, and forms to this origin. */
function csp(): Promise<string> {
  cspPromise ??= crypto.subtle.digest("SHA-256", new TextEncoder().encode(CSS)).then((d) => {
    let s = "";
    for (const b of new Uint8Array(d)) s += String.fromCharCode(b);
    return (
      `default-src 'none'; style-src 'sha256-${btoa(s)}'; img-src 'self' data:; form-action 'self'; ` +
      "frame-ancestors 'none'; base-uri 'none'"
    );
  });
  return cspPromise;
}

/** The headers of every console answer, pages and redirects alike. */
export async function securityHeaders(c: Context<AppEnv>): Promise<void> {
  c.header("Content-Security-Policy", await csp());
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "no-store");
  c.header("X-Frame-Options", "DENY");
}

export interface Frame {
  title: string;
  /** The console's base path (`/console`, or under API_PREFIX in gateway mode). */
  base: string;
  environment: string;
  /** Signed in: navigation and sign-out are shown. */
  signedIn: boolean;
  /** Which navigation entry is the current page. */
  current?: "flags" | "locations";
}

/** A whole console page around `body`. */
export function layout(frame: Frame, body: Html): Html {
  const { base } = frame;
  const nav = (name: "flags" | "locations", href: string, label: string) =>
    html`<a href="${href}"${frame.current === name ? html` aria-current="page"` : ""}>${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${frame.title} · edgeflags console</title><link rel="icon" href="data:,"><meta name="robots" content="noindex">
<style>${raw(CSS)}</style></head><body>
<a class="skip" href="#main">Skip to content</a>
<header><div class="in"><a class="brand" href="${base}/">edgeflags<span class="wide"> console</span></a><span class="env" title="environment">${frame.environment}</span>
${
  frame.signedIn
    ? html`<nav aria-label="Console">${nav("flags", `${base}/`, "Flags")} ${nav("locations", `${base}/locations`, "Locations")}</nav>
<form method="post" action="${base}/logout"><button type="submit">Sign out</button></form>`
    : ""
}</div></header>
<main id="main" tabindex="-1">${body}</main></body></html>`;
}
