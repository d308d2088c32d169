/**
 * The default target: the worker's snapshot intake over HTTP (PUT/GET /v1/snapshot, history,
 * versions) with the publish token. The worker does the verification - of what it is sent, of what
 * KV holds (GET /v1/snapshot answers the newest snapshot that verifies, and says what was wrong with
 * `current`), of history - and writes KV. I/O: fetch.
 */
import { CliError, EXIT } from "../output";
import { type ProgressFactory, silentProgress } from "../progress";
import { fetchFailureCause } from "../wait";
import type { HistoryRecord, LiveSnapshot, PushOutcome, Target } from "./target";

/** Response headers of GET /v1/snapshot (src/http/routes/intake.ts). */
const CURRENT_REFUSED = "edgeflags-current-refused";
const VERSION_FLOOR = "edgeflags-version-floor";

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
      const cause = fetchFailureCause(err, timeoutMs);
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
    return jwsFrom(await call(path), path);
  }

  async function jwsFrom(res: Response, path: string): Promise<string | null> {
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

  /** What the worker says about `current` and the floor, from GET /v1/snapshot's headers. */
  function liveHeaders(res: Response): Omit<LiveSnapshot, "jws"> {
    const problem = res.headers.get(CURRENT_REFUSED);
    const floor = Number(res.headers.get(VERSION_FLOOR) ?? Number.NaN);
    return {
      ...(problem && /^ERR_[A-Z_]+$/.test(problem) ? { currentProblem: problem } : {}),
      ...(Number.isSafeInteger(floor) && floor > 0 ? { floor } : {}),
    };
  }

  return {
    where,
    async live() {
      const res = await call("/v1/snapshot");
      const told = liveHeaders(res);
      // Nothing that verifies: the worker answers 404 and says why `current` was refused.
      if (res.status === 404 && told.currentProblem) {
        await res.body?.cancel();
        return { jws: null, ...told };
      }
      return { jws: await jwsFrom(res, "/v1/snapshot"), ...told };
    },
    version: (version) => jwsAt(`/v1/snapshot/versions/${version}`),
    async history(limit) {
      const res = await call(`/v1/snapshot/history?limit=${limit}`);
      if (!res.ok) throw await failure(res, "reading the history");
      return (await json<{ records: HistoryRecord[] }>(res, "reading the history")).records;
    },
    async push(jws): Promise<PushOutcome> {
      const res = await call("/v1/snapshot", {
        method: "PUT",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      if (res.status !== 201) throw await failure(res, "the snapshot was refused");
      type Pushed = { version: number; signal?: "announced" | "off" | "failed"; warnings?: unknown };
      const body = await json<Pushed>(res, "pushing the snapshot");
      const warnings = Array.isArray(body.warnings)
        ? body.warnings.filter((w): w is string => typeof w === "string")
        : [];
      return {
        version: body.version,
        ...(body.signal ? { signal: { status: body.signal } } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },
    close: async () => {},
  };
}
