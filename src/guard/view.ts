/**
 * The snapshot as served under the guard signal: the verified snapshot itself while nothing applies,
 * else a copy whose compiled flags are rebuilt once per change of snapshot or signal (never per
 * request: a request pays one comparison). No I/O.
 */
import { compile } from "../eval/compile";
import type { VerifiedSnapshot } from "../snapshot/verify";
import { honour } from "./apply";
import type { GuardSignal, GuardStatus } from "./types";

export class GuardView {
  #signal: GuardSignal | null = null;
  #base: VerifiedSnapshot | undefined;
  #view: VerifiedSnapshot | undefined;
  #status: GuardStatus | undefined;

  constructor(private readonly log?: (event: Record<string, unknown>) => void) {}

  /**
   * A signal read from the beacon (through the location's cache). Only a different generation or
   * version makes the next request rebuild; anything malformed is dropped.
   */
  update(signal: GuardSignal | null | undefined): void {
    if (!signal || typeof signal !== "object" || !Number.isSafeInteger(signal.gen)) return;
    const s = this.#signal;
    if (s && s.gen === signal.gen && s.version === signal.version && s.environment === signal.environment)
      return;
    if (s && s.environment === signal.environment && signal.gen < s.gen) return; // an older answer
    this.#signal = signal;
    this.#base = undefined;
  }

  /** `snapshot` as served now: itself, or its guarded copy. */
  view(snapshot: VerifiedSnapshot): VerifiedSnapshot {
    if (snapshot === this.#base) return this.#view as VerifiedSnapshot;
    const { payload } = snapshot;
    const { overrides, status } = honour(payload.flags, payload.environment, payload.version, this.#signal);
    let view = snapshot;
    if (overrides) {
      try {
        // Built field by field: a spread would read `compiled` and force a deferred base compile that
        // this copy never uses; and never the first-answer reader, which knows nothing of the guard state.
        view = { payload, kid: snapshot.kid, jws: snapshot.jws, compiled: compile(payload.flags, overrides) };
      } catch (err) {
        // The signed document compiled once already; this cannot fail short of a bug: serve it as signed.
        this.log?.({ event: "guard_view_failed", level: "error", error: String(err) });
      }
    }
    if (status.trips.length > 0 || status.ignored.length > 0) {
      this.log?.({
        event: "guard_state_applied",
        level: status.trips.length > 0 ? "warn" : "info",
        version: payload.version,
        gen: status.gen,
        tripped: status.trips.map((t) => t.flag),
        ignored: status.ignored,
      });
    }
    this.#base = snapshot;
    this.#view = view;
    this.#status = status;
    return view;
  }

  /** The generation of the guard state for `version` (0 when the state read is for another one). */
  genFor(version: number): number {
    const s = this.#signal;
    return s && s.version === version ? s.gen : 0;
  }

  /** What /healthz shows: the state applied to the last snapshot served. */
  status(): GuardStatus | { gen: number | null } {
    return this.#status ?? { gen: this.#signal?.gen ?? null };
  }
}
