/**
 * The default target: the worker's snapshot intake over HTTP (PUT/GET /v1/snapshot, history,
 * versions) with the publish token. The worker does the verification and writes KV. I/O: fetch.
 */
import type { AuditRecord } from "../../snapshot/format";
import { CliError, EXIT } from "../output";
import type { PushOutcome, Target } from "./target";

export interface WorkerTargetOptions {
  url: string;
  token: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

interface ErrorBody {
  error?: string;
  message?: string;
  code?: string;
  liveVersion?: number | null;
}

/** A target that talks to the worker at `url`. */
export function workerTarget(options: WorkerTargetOptions): Target {
  const base = options.url.replace(/\/+$/, "");
  const where = `worker ${base}`;

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.token}`, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(
        EXIT.io,
        `cannot reach the ${where} (${cause}): is it running, and is the URL right?`,
      );
    }
  }

  async function failure(res: Response, what: string): Promise<CliError> {
    const body = (await res.json().catch(() => ({}))) as ErrorBody;
    const detail = body.message ?? res.statusText;
    if (res.status === 401) {
      return new CliError(
        EXIT.problems,
        `the ${where} refused the publish token: check EDGEFLAGS_PUBLISH_TOKEN`,
      );
    }
    if (res.status === 403)
      return new CliError(EXIT.problems, `${what}: ${detail} (set PUBLISH_TOKEN on the worker)`);
    if (res.status >= 500)
      return new CliError(EXIT.io, `${what}: the ${where} answered ${res.status} (${detail})`);
    const code = body.code ? ` [${body.code}]` : "";
    const live = typeof body.liveVersion === "number" ? ` (live version: ${body.liveVersion})` : "";
    return new CliError(EXIT.problems, `${what}: ${detail}${code}${live}`, { status: res.status, ...body });
  }

  async function jwsAt(path: string): Promise<string | null> {
    const res = await call(path);
    if (res.status === 404) {
      const body = (await res.json().catch(() => ({}))) as ErrorBody;
      // A 404 from an old worker without the route must not read as "nothing published".
      if (body.error === "not_found" && body.message !== "no such resource") return null;
      throw new CliError(EXIT.io, `the ${where} has no ${path} route: deploy the current worker`);
    }
    if (!res.ok) throw await failure(res, `reading ${path}`);
    return (await res.text()).trim();
  }

  return {
    where,
    live: () => jwsAt("/v1/snapshot"),
    version: (version) => jwsAt(`/v1/snapshot/versions/${version}`),
    async history(limit) {
      const res = await call(`/v1/snapshot/history?limit=${limit}`);
      if (!res.ok) throw await failure(res, "reading the history");
      return ((await res.json()) as { records: AuditRecord[] }).records;
    },
    async push(jws): Promise<PushOutcome> {
      const res = await call("/v1/snapshot", {
        method: "PUT",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      if (res.status !== 201) throw await failure(res, "the snapshot was refused");
      const body = (await res.json()) as { version: number; signal?: "announced" | "off" | "failed" };
      return { version: body.version, ...(body.signal ? { signal: { status: body.signal } } : {}) };
    },
    close: async () => {},
  };
}
