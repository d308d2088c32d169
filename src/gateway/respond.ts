/**
 * The answers the edge gives instead of the origin: a gate's status (with its text or JSON body) or
 * redirect, the ambiguous-path 400, the no-snapshot 503, and the bad-gateway 502. None may be kept by a shared cache: they
 * depend on who asks. No I/O.
 */
import type { GateDenyRedirect, GateDenyStatus } from "../flags/types";

const NO_STORE = "private, no-store";

const DEFAULT_BODIES: Record<number, string> = {
  403: "Forbidden",
  404: "Not Found",
  410: "Gone",
  429: "Too Many Requests",
  451: "Unavailable For Legal Reasons",
  503: "Service Unavailable",
};

/** A gate's status answer. HEAD gets the headers without the body. */
export function statusResponse(deny: GateDenyStatus, method: string): Response {
  const headers = new Headers({ "cache-control": NO_STORE });
  let body: string;
  if (deny.json !== undefined) {
    headers.set("content-type", "application/json; charset=utf-8");
    body = JSON.stringify(deny.json);
  } else {
    headers.set("content-type", "text/plain; charset=utf-8");
    body = deny.body ?? DEFAULT_BODIES[deny.status] ?? "Request denied";
  }
  return new Response(method === "HEAD" ? null : body, { status: deny.status, headers });
}

/** A gate's redirect (302 unless the gate says otherwise). */
export function redirectResponse(deny: GateDenyRedirect): Response {
  return new Response(null, {
    status: deny.status ?? 302,
    headers: { location: deny.redirect, "cache-control": NO_STORE },
  });
}

/** A path origins would read in different ways (an encoded slash, a hidden dot segment...): see path.ts. */
export function ambiguousPathResponse(): Response {
  return new Response("Bad Request: ambiguous URL path.\n", {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": NO_STORE },
  });
}

/** With no snapshot at all and GATEWAY_NO_SNAPSHOT=deny: the gates are unknown, so nothing passes. */
export function noSnapshotResponse(): Response {
  return new Response("Service temporarily unavailable: feature gates are not loaded yet.\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": NO_STORE, "retry-after": "5" },
  });
}

/** The origin could not be reached (or is misconfigured). The cause goes to the log only. */
export function badGatewayResponse(): Response {
  return new Response("Bad Gateway\n", {
    status: 502,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": NO_STORE },
  });
}
