/**
 * What every evaluation route does before evaluating: verify identity, build the context, decide
 * whether the caller may see server-only flags, and find the snapshot. Only the snapshot load does I/O.
 */
import type { Context } from "hono";
import type { VerifiedSnapshot } from "../snapshot/verify";
import type { AppEnv } from "./app-env";
import { anonCookieHeader, type BuiltContext, buildContext, keepsAnonCookie } from "./context";
import { snapshotFor } from "./request";

export interface Evaluation {
  built: BuiltContext;
  /** A valid X-API-Key was presented: server-only flags are visible. */
  serverAccess: boolean;
  snapshot: VerifiedSnapshot;
  now: number;
}

/** Prepares an evaluation; throws ApiError for a bad token or when no snapshot is loaded. */
export async function prepareEvaluation(
  c: Context<AppEnv>,
  input: { contextKey?: unknown; queryKey?: string; attributes?: Record<string, unknown> },
): Promise<Evaluation> {
  const rt = c.get("rt");
  const identity = await rt.verifyIdentity(c.req.raw);
  const serverAccess = await rt.isServerKey(c.req.header("x-api-key"));
  // A back-end (API key) or a caller that would not keep the cookie names its own targeting key.
  const inventAnonId = !serverAccess && keepsAnonCookie(c.req.raw, rt.config);
  const built = buildContext({ request: c.req.raw, config: rt.config, identity, inventAnonId, ...input });
  if (built.newAnonId) {
    const cookie = anonCookieHeader(rt.config, built.newAnonId);
    if (cookie) c.header("Set-Cookie", cookie, { append: true });
  }
  const snapshot = await snapshotFor(c);
  return { built, serverAccess, snapshot, now: Date.now() };
}

/** Whether this caller may see the flag at all (unknown and hidden flags look the same). */
export function visible(ev: Evaluation, key: string): boolean {
  const { compiled } = ev.snapshot;
  return compiled.has(key) && (ev.serverAccess || compiled.isClientVisible(key));
}
