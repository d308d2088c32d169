/**
 * Storing a published snapshot in KV, shared by the worker's intake and the publisher's KV targets so
 * that both keep the same rules: versions only go up, and a version and its audit record are written
 * once, before `current` points at them. I/O through the KV given.
 */
import { base64url } from "jose";
import { auditRecord } from "./audit";
import { SnapshotError } from "./errors";
import { kvKeys } from "./format";
import type { VerifiedSnapshot } from "./verify";

/** The part of a KV namespace publishing needs (a binding, Miniflare's, or the Cloudflare API). */
export interface PublishKv {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

const decoder = new TextDecoder();

/**
 * The version of a live snapshot, read from its payload without verifying it: a live snapshot that no
 * longer verifies (expired, or signed by a key since retired) still sets the floor a new publish must
 * exceed. Undefined when there is none or it cannot be read at all.
 */
export function versionOf(jws: string | null): number | undefined {
  const payload = jws?.split(".")[1];
  if (!payload) return undefined;
  try {
    const version = (JSON.parse(decoder.decode(base64url.decode(payload))) as { version?: unknown }).version;
    return typeof version === "number" && Number.isSafeInteger(version) ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a verified snapshot: its version and audit record, then `current`. Refuses, as
 * ERR_SNAPSHOT_ROLLBACK, a version that was already published, so history is never overwritten even
 * when `current` is missing or unreadable.
 */
export async function writeSnapshot(kv: PublishKv, verified: VerifiedSnapshot): Promise<void> {
  const { environment, version } = verified.payload;
  if ((await kv.get(kvKeys.version(environment, version))) !== null) {
    throw new SnapshotError("ERR_SNAPSHOT_ROLLBACK", `version ${version} was already published`);
  }
  // Version and audit record first: `current` must never point at a version without its history.
  await Promise.all([
    kv.put(kvKeys.version(environment, version), verified.jws),
    kv.put(kvKeys.audit(environment, version), JSON.stringify(auditRecord(verified))),
  ]);
  await kv.put(kvKeys.current(environment), verified.jws);
}
