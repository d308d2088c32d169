/**
 * Shared by the guard-rail, ratchet and kill-many tests: a project publishing to its own worker in
 * workerd, and reading back what KV holds (the live payload, a version's signed audit block).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { type LocalWorker, startLocalWorker } from "../../scripts/lib/local-worker";
import { kvKeys, type SnapshotPayload } from "../../src/snapshot/format";
import { type Project, project } from "./helpers";

export interface LiveProject {
  p: Project;
  worker: LocalWorker;
  /** The payload of `current` in KV (what the worker serves). */
  live(): Promise<SnapshotPayload>;
  /** The payload stored for a version, or null. */
  version(version: number): Promise<SnapshotPayload | null>;
}

/** A project with a signing key and config pointing at a fresh worker for environment `env`. */
export async function liveProject(env: string): Promise<LiveProject> {
  const token = `${env}-token`;
  const p = await project({}, `${env}-key`);
  const worker = await startLocalWorker({
    bindings: {
      EDGEFLAGS_ENV: env,
      EDGEFLAGS_PUBLIC_KEYS: JSON.stringify(p.keys.publicJwks),
      PUBLISH_TOKEN: token,
      REFRESH_INTERVAL_SECONDS: "1",
    },
  });
  writeFileSync(
    join(p.dir, ".edgeflags", "config.json"),
    JSON.stringify({
      url: worker.url,
      environment: env,
      publishToken: token,
      privateKeyFile: "key.json",
      waitTimeoutSeconds: 10,
    }),
  );
  const kv = await worker.mf.getKVNamespace("FLAGS");
  const read = async (key: string) => {
    const jws = (await kv.get(key, "text")) as string | null;
    return jws === null ? null : (decodeJwt(jws) as unknown as SnapshotPayload);
  };
  return {
    p,
    worker,
    live: async () => (await read(kvKeys.current(env))) as SnapshotPayload,
    version: (v) => read(kvKeys.version(env, v)),
  };
}
