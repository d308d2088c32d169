/**
 * The snapshot that was live at a past moment, from the versions KV keeps (the same keys rollback and
 * history read): the newest version signed at or before that moment whose snapshot verifies. Signing
 * time (`issuedAt`) stands for publish time, as history shows it; versions are read newest first and
 * their payloads only decoded until one was signed early enough, so only that one is verified and
 * compiled. Anything that does not verify never was live and is passed over. I/O through the KV given.
 */
import * as base64url from "./base64url";
import { kvKeys } from "./format";
import { versionsIn } from "./kv";
import type { ScanKv, SnapshotCheck } from "./publish";
import type { VerifiedSnapshot } from "./verify";

/** Versions read per round trip, newest first. */
const BATCH = 8;

export type SnapshotAt =
  /** `passedOver`: newer candidates signed early enough that did not verify. */
  | { kind: "found"; snapshot: VerifiedSnapshot; passedOver: number[] }
  /** Nothing was published in this environment. */
  | { kind: "empty" }
  /** The moment is before the oldest version KV keeps (`first`, as its payload says). */
  | { kind: "before"; first: { version: number; issuedAt: string | undefined } }
  /** The version live then had already expired: nothing was served. */
  | { kind: "expired"; version: number; expiresAt: string }
  /** More than `limit` versions were published since: too far back to look. */
  | { kind: "too_far"; limit: number };

const decoder = new TextDecoder();

/** `issuedAt` of a compact JWS's payload, unverified (a cheap look before the real check). */
function claimedIssuedAt(jws: string): number {
  try {
    const payload = JSON.parse(decoder.decode(base64url.decode(jws.split(".")[1] ?? ""))) as {
      issuedAt?: unknown;
    };
    return typeof payload.issuedAt === "string" ? Date.parse(payload.issuedAt) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The snapshot live at `at` (epoch ms), reading at most `limit` versioned keys. */
export async function snapshotAt(
  kv: ScanKv,
  check: SnapshotCheck,
  environment: string,
  at: number,
  limit: number,
): Promise<SnapshotAt> {
  const prefix = kvKeys.versionPrefix(environment);
  const versions = versionsIn(await kv.list(prefix), prefix, (v) => kvKeys.version(environment, v));
  if (versions.length === 0) return { kind: "empty" };
  const passedOver: number[] = [];
  let oldest: { version: number; issuedAt: string | undefined } | undefined;
  for (let i = 0; i < versions.length; i += BATCH) {
    if (i >= limit) return { kind: "too_far", limit };
    const batch = versions.slice(i, Math.min(i + BATCH, limit));
    const texts = await Promise.all(batch.map((v) => kv.get(kvKeys.version(environment, v))));
    for (const [j, jws] of texts.entries()) {
      const version = batch[j]!;
      if (jws === null) continue;
      const issued = claimedIssuedAt(jws);
      oldest = { version, issuedAt: Number.isNaN(issued) ? undefined : new Date(issued).toISOString() };
      if (!(issued <= at)) continue;
      const verified = await check(jws).catch(() => undefined);
      // What the payload claimed counts only once the signature backs it.
      if (
        verified === undefined ||
        verified.payload.version !== version ||
        Date.parse(verified.payload.issuedAt) > at
      ) {
        passedOver.push(version);
        continue;
      }
      const expiresAt = verified.payload.expiresAt;
      if (expiresAt !== undefined && Date.parse(expiresAt) <= at)
        return { kind: "expired", version, expiresAt };
      return { kind: "found", snapshot: verified, passedOver };
    }
  }
  return {
    kind: "before",
    first: oldest ?? { version: versions[versions.length - 1]!, issuedAt: undefined },
  };
}
