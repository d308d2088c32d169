/**
 * Announcing a new live version to the beacon after it is stored (intake and notify), and priming
 * this location's cache so isolates here learn of it without waiting for the entry to expire.
 * I/O: the beacon (Durable Object RPC) and the location's cache.
 */
import type { VerifiedSnapshot } from "../snapshot/verify";
import { type LocationCache, signalKeys, stateTtlMs, storeEntry } from "./coalesce";
import type { Beacon } from "./types";

export interface Announcement {
  /** `announced`: the beacon now says this version (or a newer one); `off`: no signal configured. */
  status: "announced" | "off" | "failed";
  /** The beacon's version after the call. */
  beaconVersion?: number;
  message?: string;
}

/** Raises the beacon to `snapshot`'s version. Never throws: the snapshot is already stored in KV. */
export async function announceSnapshot(
  signal: { beacon: Beacon | undefined; cache: LocationCache | undefined; now: () => number },
  intervalMs: number,
  snapshot: VerifiedSnapshot,
): Promise<Announcement> {
  const { beacon, cache, now } = signal;
  if (!beacon) return { status: "off" };
  const { environment, version } = snapshot.payload;
  try {
    const state = await beacon.announce(environment, version, snapshot.jws);
    await storeEntry(cache, signalKeys.state(environment), stateTtlMs(intervalMs), {
      at: now(),
      value: state,
    });
    return { status: "announced", beaconVersion: state.version };
  } catch (err) {
    return { status: "failed", message: err instanceof Error ? err.message : String(err) };
  }
}
