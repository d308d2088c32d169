/**
 * The local development store that `npm start` (wrangler dev) reads: wrangler's persisted KV under
 * .wrangler/state, opened through Miniflare's own KV implementation so the on-disk format is always
 * the one the pinned wrangler expects. I/O: starts a short-lived workerd, reads wrangler.toml.
 */

import { existsSync, readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { listKeys } from "../../snapshot/kv";
import { CliError, EXIT } from "../output";
import type { KvLike } from "./kv-store";

/** The FLAGS namespace id wrangler.toml declares (wrangler names the local store after it). */
export function localNamespaceId(wranglerToml: string): string {
  if (!existsSync(wranglerToml)) {
    throw new CliError(
      EXIT.usage,
      `the local target needs ${wranglerToml} (run edgeflags from the project folder)`,
    );
  }
  const text = readFileSync(wranglerToml, "utf8");
  for (const block of text.split(/^\[\[kv_namespaces\]\]/m).slice(1)) {
    if (!/^\s*binding\s*=\s*"FLAGS"/m.test(block)) continue;
    // wrangler's local dev names the store after `id`, or the binding when there is none.
    return /^\s*id\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "FLAGS";
  }
  throw new CliError(EXIT.usage, `${wranglerToml} declares no [[kv_namespaces]] with binding = "FLAGS"`);
}

/** A KvLike over wrangler's local KV folder (`persist`, normally .wrangler/state/v3/kv). */
export function localStore(persist: string, namespaceId: string): KvLike {
  let mf: Miniflare | undefined;
  let ready: Promise<KVNamespace> | undefined;
  const kv = () => {
    ready ??= (async () => {
      mf = new Miniflare({
        modules: true,
        script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
        kvNamespaces: { FLAGS: namespaceId },
        kvPersist: persist,
      });
      try {
        return (await mf.getKVNamespace("FLAGS")) as unknown as KVNamespace;
      } catch (err) {
        throw new CliError(
          EXIT.io,
          `cannot open the local KV store in ${persist}: ${(err as Error).message}`,
        );
      }
    })();
    return ready;
  };
  return {
    get: async (key) => (await kv()).get(key, "text"),
    put: async (key, value) => (await kv()).put(key, value),
    list: async (prefix) => listKeys(await kv(), prefix),
    close: async () => {
      await mf?.dispose();
    },
  };
}
