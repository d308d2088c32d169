/**
 * A target over a bare key-value store (the Cloudflare KV API, or wrangler's local store). Nothing
 * verifies on the other side, so this does what the worker's intake does, client-side: verify the
 * snapshot, insist on a strictly newer version, then write the version, its audit record and
 * `current` - the same keys the intake writes. I/O only through the injected `KvLike`.
 */
import { SnapshotError } from "../../snapshot/errors";
import { type AuditRecord, kvKeys } from "../../snapshot/format";
import type { KeyRing } from "../../snapshot/keys";
import { versionOf, writeSnapshot } from "../../snapshot/publish";
import { verifySnapshot } from "../../snapshot/verify";
import { CliError, EXIT } from "../output";
import type { PushOutcome, Target } from "./target";

/** The three operations this target needs; each adapter maps its own failures to CliError (exit 3). */
export interface KvLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  /** Every key name under `prefix`, ascending. */
  list(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface KvTargetOptions {
  where: string;
  environment: string;
  /** Keys a snapshot must verify with before it is written (the signer's own public key at least). */
  keys: KeyRing;
}

/** A Target that reads and writes the intake's KV layout directly. */
export function kvTarget(kv: KvLike, options: KvTargetOptions): Target {
  const { environment } = options;
  return {
    where: options.where,
    live: () => kv.get(kvKeys.current(environment)),
    version: (version) => kv.get(kvKeys.version(environment, version)),
    async history(limit) {
      const names = (await kv.list(kvKeys.auditPrefix(environment))).slice(-limit).reverse();
      const texts = await Promise.all(names.map((n) => kv.get(n)));
      return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as AuditRecord);
    },
    async push(jws): Promise<PushOutcome> {
      // Even a live snapshot that no longer verifies sets the floor: versions only go up.
      const minVersion = versionOf(await kv.get(kvKeys.current(environment)));
      try {
        const verified = await verifySnapshot(jws, {
          keys: options.keys,
          environment,
          minVersion,
          strictlyNewer: true,
          now: Date.now(),
        });
        await writeSnapshot(kv, verified);
        return { version: verified.payload.version };
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        const live = minVersion === undefined ? "" : ` (live version: ${minVersion})`;
        throw new CliError(EXIT.problems, `the snapshot was refused: ${err.message} [${err.code}]${live}`, {
          code: err.code,
          liveVersion: minVersion ?? null,
        });
      }
    },
    close: () => kv.close(),
  };
}
