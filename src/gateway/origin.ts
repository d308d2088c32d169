/**
 * Forwarding to the origin: the outgoing request (hop-by-hop headers dropped, the client's
 * X-Edgeflags-Flags replaced, body streamed) and the fetch through a service binding, ORIGIN_URL or
 * the zone's own origin. I/O: one subrequest.
 */

/** Request header carrying the visitor's evaluated client-visible flags to the origin. */
export const FLAGS_HEADER = "x-edgeflags-flags";
/** Longest X-Edgeflags-Flags value sent; origins commonly refuse headers over 8 KB. */
export const MAX_FLAGS_HEADER_BYTES = 8 * 1024;

// Hop-by-hop headers (RFC 9110 7.6.1) describe the client's connection, not the origin's.
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

export interface OriginTarget {
  /** A service binding: the origin is another worker. */
  binding?: Fetcher;
  /** ORIGIN_URL: its scheme, host and port replace the request's. */
  url?: URL;
}

/**
 * `{"version":12,"flags":{...}}` as a valid header value: compact JSON with everything outside
 * printable ASCII escaped (JSON escapes control characters itself). Undefined when too large.
 */
export function flagsHeaderValue(version: number, flags: Record<string, unknown>): string | undefined {
  const json = JSON.stringify({ version, flags }).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return json.length > MAX_FLAGS_HEADER_BYTES ? undefined : json;
}

export interface ForwardOptions {
  target: OriginTarget;
  /** Serve this path (and query, if it has one) instead: a gate's rewrite. */
  rewrite?: string;
  /** Value for X-Edgeflags-Flags; the header is removed either way. */
  flagsHeader?: string;
}

/** The request to send to the origin. Method, headers and the body stream carry over unchanged. */
export function originRequest(request: Request, options: ForwardOptions): Request {
  const url = new URL(request.url);
  if (options.rewrite !== undefined) {
    const q = options.rewrite.indexOf("?");
    url.pathname = q < 0 ? options.rewrite : options.rewrite.slice(0, q);
    if (q >= 0) url.search = options.rewrite.slice(q);
  }
  const headers = new Headers(request.headers);
  const websocket = headers.get("upgrade")?.toLowerCase() === "websocket";
  for (const name of (headers.get("connection") ?? "").split(",")) {
    const n = name.trim().toLowerCase();
    if (n && !(websocket && n === "upgrade")) headers.delete(n);
  }
  for (const name of HOP_BY_HOP) {
    if (websocket && (name === "upgrade" || name === "connection")) continue;
    headers.delete(name);
  }
  headers.delete(FLAGS_HEADER);
  if (options.flagsHeader !== undefined) headers.set(FLAGS_HEADER, options.flagsHeader);
  const origin = options.target.url;
  if (origin && !options.target.binding) {
    // A proxy hop to another host: tell the origin which site the visitor asked for.
    headers.set("x-forwarded-host", url.host);
    headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
    url.protocol = origin.protocol;
    url.hostname = origin.hostname;
    url.port = origin.port;
  }
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return new Request(url, {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    // The visitor's browser follows the origin's redirects, not the edge.
    redirect: "manual",
  });
}

/** Sends a request to the origin: the service binding if bound, else a plain subrequest. */
export function fetchOrigin(request: Request, target: OriginTarget): Promise<Response> {
  return target.binding ? target.binding.fetch(request) : fetch(request);
}
