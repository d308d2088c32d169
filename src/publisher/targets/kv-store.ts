/**
 * A target over a bare key-value store (the Cloudflare KV API, or wrangler's local store). Nothing
 * verifies on the other side, so this does what the worker's intake does, client-side, with this
 * publisher's trusted keys: find the newest snapshot that verifies (a `current` that does not is
 * reported and passed over), verify the snapshot, insist on a strictly newer version, then write the
 * version, its audit record and `current` - the same keys the intake writes - and read history
 * checked against the signed snapshots. I/O only through the injected `KvLike`.
 */
import { readHistory } from "../../snapshot/audit";
import { SnapshotError } from "../../snapshot/errors";
import { kvKeys } from "../../snapshot/format";
import type { KeyRing } from "../../snapshot/keys";
import { authorityCheck, findLive, writeSnapshot } from "../../snapshot/publish";
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
  const check = authorityCheck(options.keys, environment);
  return {
    where: options.where,
    async live() {
      const { newest, current } = await findLive(kv, check, environment);
      return {
        jws: newest?.jws ?? null,
        ...(current ? { currentProblem: current.code } : {}),
        ...(newest ? { floor: newest.payload.version } : {}),
      };
    },
    version: (version) => kv.get(kvKeys.version(environment, version)),
    history: (limit) => readHistory(kv, check, environment, limit),
    async push(jws): Promise<PushOutcome> {
      // Only a snapshot that verifies sets the floor: what a KV writer put there cannot block this.
      const live = await findLive(kv, check, environment);
      const minVersion = live.newest?.payload.version;
      try {
        const verified = await verifySnapshot(jws, {
          keys: options.keys,
          environment,
          minVersion,
          strictlyNewer: true,
          now: Date.now(),
        });
        const { version } = verified.payload;
        const { replaced } = await writeSnapshot(kv, verified, check);
        const warnings = [
          ...(live.current ? [`${live.current.message}; replaced by version ${version}`] : []),
          ...(replaced ? [replaced.message] : []),
        ];
        return { version, ...(warnings.length > 0 ? { warnings } : {}) };
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
