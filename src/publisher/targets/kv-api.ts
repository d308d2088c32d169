/**
 * The Cloudflare KV API as a key-value store, through the official `cloudflare` client, for when the
 * worker should not accept writes. I/O: HTTPS to api.cloudflare.com (or CLOUDFLARE_API_BASE_URL).
 */
import Cloudflare, { APIError, NotFoundError } from "cloudflare";
import { CliError, EXIT } from "../output";
import type { KvLike } from "./kv-store";

export interface KvApiOptions {
  apiToken?: string;
  accountId?: string;
  namespaceId?: string;
  baseURL?: string;
}

function missing(options: KvApiOptions): string[] {
  const out: string[] = [];
  if (!options.apiToken) out.push("CLOUDFLARE_API_TOKEN");
  if (!options.accountId) out.push("CLOUDFLARE_ACCOUNT_ID (or accountId in the config file)");
  if (!options.namespaceId) out.push("EDGEFLAGS_KV_NAMESPACE_ID (or namespaceId in the config file)");
  return out;
}

/** Maps the client's errors: 404 on a value is "absent", auth problems refuse (1), the rest is I/O (3). */
function apiFailure(err: unknown, what: string): CliError {
  if (err instanceof APIError && (err.status === 401 || err.status === 403)) {
    return new CliError(
      EXIT.problems,
      `${what}: the Cloudflare API refused the token (${err.status}); it needs Workers KV Storage: Edit`,
    );
  }
  const detail = err instanceof APIError && err.status ? `HTTP ${err.status}` : (err as Error).message;
  return new CliError(EXIT.io, `${what}: cannot reach the Cloudflare KV API (${detail})`);
}

/** A KvLike over one KV namespace. */
export function kvApiStore(options: KvApiOptions): KvLike {
  const lacking = missing(options);
  if (lacking.length > 0) {
    throw new CliError(EXIT.usage, `the kv-api target needs ${lacking.join(", ")}`);
  }
  const client = new Cloudflare({
    apiToken: options.apiToken as string,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 2,
    timeout: 30_000,
  });
  const account_id = options.accountId as string;
  const namespace_id = options.namespaceId as string;
  return {
    async get(key) {
      try {
        const res = await client.kv.namespaces.values.get(key, { account_id, namespace_id });
        return await res.text();
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw apiFailure(err, `reading ${key}`);
      }
    },
    async put(key, value) {
      try {
        await client.kv.namespaces.values.update(key, { account_id, namespace_id, value });
      } catch (err) {
        throw apiFailure(err, `writing ${key}`);
      }
    },
    async list(prefix) {
      const names: string[] = [];
      try {
        for await (const k of client.kv.namespaces.keys.list(namespace_id, {
          account_id,
          prefix,
          limit: 1000,
        })) {
          names.push(k.name);
        }
      } catch (err) {
        throw apiFailure(err, `listing ${prefix}`);
      }
      return names.sort();
    },
    close: async () => {},
  };
}
