/**
 * After a direct KV write (the kv-api target), tells the worker's version beacon through
 * POST /v1/snapshot/notify, so every location serves the publish within seconds instead of KV's
 * minute. A failed notify never fails the publish: the snapshot is stored and KV still propagates it.
 * I/O: fetch.
 */
import type { PushOutcome, Target } from "./target";

export interface NotifyOptions {
  /** Worker base URL and publish token; without both there is nothing to notify through. */
  url: string | undefined;
  token: string | undefined;
  timeoutMs?: number;
}

/** Announces `jws` to the worker's beacon; says what happened, never throws. */
export async function notifyWorker(
  jws: string,
  options: NotifyOptions,
): Promise<NonNullable<PushOutcome["signal"]>> {
  if (!options.url || !options.token) {
    return {
      status: "skipped",
      message:
        "no worker URL and publish token to notify: other locations learn of it from KV (a minute or more)",
    };
  }
  try {
    const res = await fetch(`${options.url.replace(/\/+$/, "")}/v1/snapshot/notify`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/jose" },
      body: jws,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body = (await res.json().catch(() => ({}))) as { signal?: string; message?: string | null };
    if (res.ok && (body.signal === "announced" || body.signal === "off" || body.signal === "failed")) {
      return { status: body.signal, ...(body.message ? { message: body.message } : {}) };
    }
    return {
      status: "failed",
      message: `POST /v1/snapshot/notify answered ${res.status} ${body.message ?? ""}`.trim(),
    };
  } catch (err) {
    return { status: "failed", message: `cannot reach ${options.url} to notify: ${(err as Error).message}` };
  }
}

/** The target, with every successful push followed by a notify. */
export function withNotify(target: Target, options: NotifyOptions): Target {
  return {
    ...target,
    async push(jws) {
      const outcome = await target.push(jws);
      return { ...outcome, signal: await notifyWorker(jws, options) };
    },
  };
}
