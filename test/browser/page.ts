/**
 * A page for the Chromium suites: the OpenFeature web SDK and the OFREP web provider (and any other
 * exports) bundled as `window.OF`, served with a page that loads them from 127.0.0.1 under the origin
 * http://localhost:PORT, another site than the worker on 127.0.0.1, as a front-end on its own domain.
 * I/O: a loopback HTTP server (close it).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";

/** The web SDK (OpenFeature, ProviderEvents), OFREPWebProvider and `extra` export lines, as an IIFE setting window.OF. */
export async function openFeatureBundle(extra = ""): Promise<string> {
  const out = await build({
    stdin: {
      contents: `export { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
export { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
${extra}`,
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: "iife",
    globalName: "OF",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]?.text ?? "";
}

/** Serves `script` at /of.js and, at every other path, a page loading it followed by `body`. */
export async function servePage(script: string, body = ""): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === "/of.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(script);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>app</title><script src="/of.js"></script>${body}`);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  // localhost and 127.0.0.1 are different sites: the page talks to the worker cross-site.
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}
