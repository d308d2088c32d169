/**
 * The gateway demo's origin: a tiny shop on node:http whose pages read the flags the gateway
 * injected and render accordingly. I/O: listens on 127.0.0.1. Run: npx tsx examples/gateway-demo/origin.ts
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// What a front-end does with injected flags: read them once, fall back to defaults without them.
const READ_FLAGS = `
  const el = document.getElementById("edgeflags-flags");
  const { flags } = el ? JSON.parse(el.textContent) : { flags: {} };
  document.getElementById("banner").textContent = flags.banner ?? "Welcome!";
  document.getElementById("checkout").hidden = flags["new-checkout"] !== true;
  document.getElementById("source").textContent = el ? "flags injected at the edge" : "no flags: defaults";
`;

function page(title: string, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>
  body { font: 18px system-ui, sans-serif; margin: 0; }
  #banner { background: #1d4ed8; color: #fff; padding: 16px 24px; font-weight: 600; }
  main { padding: 24px; } #checkout { background: #16a34a; color: #fff; padding: 8px 16px; }
  #source { color: #666; font-size: 14px; }
</style>
</head>
<body>
<div id="banner">…</div>
<main>
<h1>${title}</h1>
${main}
<p><a id="checkout" href="/checkout/" hidden>Try the new checkout</a></p>
<p id="source"></p>
</main>
<script>${READ_FLAGS}</script>
</body>
</html>`;
}

/** Starts the demo origin on 127.0.0.1 (a free port unless one is given). */
export function startDemoOrigin(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    const flagsHeader = req.headers["x-edgeflags-flags"];
    const html = path.startsWith("/checkout")
      ? page("Checkout", "<p>Your cart: 1 demo item.</p>")
      : page(
          "Demo shop",
          `<p>The origin received ${flagsHeader ? "the visitor's flags" : "no flags"} in a header.</p>`,
        );
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60" });
    res.end(html);
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${bound}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startDemoOrigin(Number(process.env.PORT ?? 8788));
  console.log(`demo origin on ${url}`);
}
