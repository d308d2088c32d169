/**
 * The default target: the worker's snapshot intake over HTTP (PUT/GET /v1/snapshot, history,
 * versions) with the publish token. The worker does the verification and writes KV. I/O: fetch.
 */
import type { AuditRecord } from "../../snapshot/format";
import { CliError, EXIT } from "../output";
import { type ProgressFactory, silentProgress } from "../progress";
import type { PushOutcome, Target } from "./target";

export interface WorkerTargetOptions {
  url: string;
  token: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Shows a request that takes a while (a slow or unreachable worker); quick ones print nothing. */
  progress?: ProgressFactory;
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
    const timeoutMs = options.timeoutMs ?? 30_000;
    const request = `${init.method ?? "GET"} ${path.split("?")[0]}`;
    const progress = (options.progress ?? silentProgress)(`waiting for ${base} to answer ${request}`);
    progress.update(`gives up at ${Math.round(timeoutMs / 1000)} s`);
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.token}`, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as { cause?: { code?: string }; name?: string; message?: string };
      const cause =
        e.cause?.code ??
        (e.name === "TimeoutError" ? `no answer within ${Math.round(timeoutMs / 1000)} s` : e.message);
      throw new CliError(
        EXIT.io,
        `cannot reach the ${where} (${cause}): is it running, and is the URL right?`,
      );
    } finally {
      progress.done();
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

  /** Something other than an edgeflags worker answered: say what, and the likely reason. */
  function notAWorker(res: Response, what: string): CliError {
    const type = res.headers.get("content-type")?.split(";")[0] ?? "no content type";
    return new CliError(
      EXIT.io,
      `${what}: ${base} did not answer like an edgeflags worker (HTTP ${res.status}, ${type}); check the URL (in gateway mode it ends in the API prefix, e.g. /__edgeflags)`,
    );
  }

  /** The JSON body of a worker answer; anything else is `notAWorker`. */
  async function json<T>(res: Response, what: string): Promise<T> {
    if (!res.headers.get("content-type")?.includes("json")) throw notAWorker(res, what);
    try {
      return (await res.json()) as T;
    } catch {
      throw notAWorker(res, what);
    }
  }

  async function jwsAt(path: string): Promise<string | null> {
    const res = await call(path);
    if (res.status === 404) {
      const body = (await res.json().catch(() => ({}))) as ErrorBody;
      // A 404 from an old worker without the route must not read as "nothing published".
      if (body.error === "not_found" && body.message !== "no such resource") return null;
      if (body.error === undefined) throw notAWorker(res, `reading ${path}`);
      throw new CliError(EXIT.io, `the ${where} has no ${path} route: deploy the current worker`);
    }
    if (!res.ok) throw await failure(res, `reading ${path}`);
    if (res.headers.get("content-type")?.split(";")[0] !== "application/jose") {
      throw notAWorker(res, `reading ${path}`);
    }
    return (await res.text()).trim();
  }

  return {
    where,
    live: () => jwsAt("/v1/snapshot"),
    version: (version) => jwsAt(`/v1/snapshot/versions/${version}`),
    async history(limit) {
      const res = await call(`/v1/snapshot/history?limit=${limit}`);
      if (!res.ok) throw await failure(res, "reading the history");
      return (await json<{ records: AuditRecord[] }>(res, "reading the history")).records;
    },
    async push(jws): Promise<PushOutcome> {
      const res = await call("/v1/snapshot", {
        method: "PUT",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      if (res.status !== 201) throw await failure(res, "the snapshot was refused");
      type Pushed = { version: number; signal?: "announced" | "off" | "failed" };
      const body = await json<Pushed>(res, "pushing the snapshot");
      return { version: body.version, ...(body.signal ? { signal: { status: body.signal } } : {}) };
    },
    close: async () => {},
  };
}
