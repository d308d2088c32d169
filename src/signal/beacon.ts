/**
 * The version beacon: one Durable Object per environment holding the newest published version (and
 * its JWS when small), strongly consistent because a single object owns it. It trusts nobody: only
 * the worker reaches it, after verifying, and every isolate verifies whatever it hands out again.
 * I/O: Durable Object storage.
 */
import { DurableObject } from "cloudflare:workers";
import { digestText } from "../policy/digest";
import type { Beacon, BeaconState } from "./types";

/**
 * Largest JWS the beacon keeps (128 KiB: the smallest value limit across Durable Object storage
 * backends). Bigger snapshots are announced by version only; isolates then fetch them from KV.
 */
export const BEACON_MAX_SNAPSHOT_BYTES = 128 * 1024;

interface Stored {
  environment: string;
  version: number;
  jws: string | null;
  /** SHA-256 (base64url) of the announced JWS, kept even when the JWS is too big to keep. */
  digest?: string;
  updatedAt: string;
}

const KEY = "state";

function view(s: Stored): BeaconState {
  return {
    environment: s.environment,
    version: s.version,
    hasSnapshot: s.jws !== null,
    ...(s.digest ? { digest: s.digest } : {}),
    updatedAt: s.updatedAt,
  };
}

/** The Durable Object class bound as BEACON (see wrangler.toml); its methods are called over JS RPC. */
export class VersionBeacon extends DurableObject implements Beacon {
  // Kept in memory between calls: the object is the only writer, so the copy cannot go stale.
  #state: Stored | null | undefined;

  async #load(): Promise<Stored | null> {
    if (this.#state === undefined) this.#state = (await this.ctx.storage.get<Stored>(KEY)) ?? null;
    return this.#state;
  }

  async read(): Promise<BeaconState | null> {
    const s = await this.#load();
    return s ? view(s) : null;
  }

  async snapshot(version: number): Promise<string | null> {
    const s = await this.#load();
    return s && s.version === version ? s.jws : null;
  }

  async announce(environment: string, version: number, jws: string | null): Promise<BeaconState> {
    const s = await this.#load();
    if (s && version <= s.version) return view(s);
    const next: Stored = {
      environment,
      version,
      jws: jws !== null && jws.length <= BEACON_MAX_SNAPSHOT_BYTES ? jws : null,
      ...(jws !== null ? { digest: await digestText(jws) } : {}),
      updatedAt: new Date().toISOString(),
    };
    await this.ctx.storage.put(KEY, next);
    this.#state = next;
    return view(next);
  }
}
