/**
 * Picks and builds the push target named in the settings, with the errors that say which setting is
 * missing. The kv-api and local adapters are imported only when chosen: the `cloudflare` client
 * and Miniflare take over a second to load, which would otherwise slow every command. No I/O.
 */
import type { KeyRing } from "../../snapshot/keys";
import type { Settings } from "../config";
import { CliError, EXIT } from "../output";
import type { ProgressFactory } from "../progress";
import { kvTarget } from "./kv-store";
import { withNotify } from "./notify";
import type { Target } from "./target";
import { workerTarget } from "./worker";

export type { PushOutcome, Target } from "./target";

/**
 * Miniflare is not a dependency of the installed CLI (it is large, and only the local target uses it):
 * it comes with wrangler, in the project whose `wrangler dev` store the local target writes.
 */
function missingMiniflare(err: unknown): never {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "ERR_MODULE_NOT_FOUND" && /['"]miniflare['"]/.test(e.message)) {
    throw new CliError(
      EXIT.usage,
      "the local target needs miniflare, which comes with wrangler: run edgeflags from the project that runs `wrangler dev`, or `npm install --save-dev wrangler` there",
    );
  }
  throw err;
}

/**
 * The target for these settings. `keys` are what the direct-KV targets verify pushes with; `progress`
 * shows the worker target's slow requests.
 */
export async function openTarget(
  settings: Settings,
  keys: KeyRing,
  progress?: ProgressFactory,
): Promise<Target> {
  switch (settings.target) {
    case "worker": {
      if (!settings.url) {
        throw new CliError(
          EXIT.usage,
          "no worker URL: pass --url, set EDGEFLAGS_URL, or run `npm start` to write .edgeflags/config.json",
        );
      }
      if (!settings.publishToken) {
        throw new CliError(
          EXIT.usage,
          "no publish token: set EDGEFLAGS_PUBLISH_TOKEN to the worker's PUBLISH_TOKEN",
        );
      }
      return workerTarget({ url: settings.url, token: settings.publishToken, progress });
    }
    case "kv-api": {
      const { kvApiStore } = await import("./kv-api");
      const store = kvApiStore(settings.kvApi);
      const target = kvTarget(store, {
        where: `Cloudflare KV namespace ${settings.kvApi.namespaceId}`,
        environment: settings.environment,
        keys,
      });
      // KV alone takes a minute to reach every location; the worker's beacon makes it seconds.
      return withNotify(target, { url: settings.url, token: settings.publishToken });
    }
    case "local": {
      const { localNamespaceId, localStore } = await import("./local").catch(missingMiniflare);
      const id = localNamespaceId(settings.local.wranglerToml);
      return kvTarget(localStore(settings.local.persist, id), {
        where: `local KV ${settings.local.persist}`,
        environment: settings.environment,
        keys,
      });
    }
  }
}
