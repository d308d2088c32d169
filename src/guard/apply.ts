/**
 * What an isolate honours of the unsigned guard signal, decided against the signed snapshot: a trip
 * only for the served environment and version, and only for a flag whose signed definition declares
 * a guard; its only effect is the flag's off variant (the engine's own DISABLED result, ruleId
 * "guard"). Progressive steps gated by a bake are held at the count the aggregator released, never
 * advanced past the signed schedule (the engine still requires each step's `at`). Pure, no I/O.
 */
import { murmur3Utf8 } from "../eval/bucket";
import type { CompileOverrides } from "../eval/compile";
import type { FlagsDocument } from "../flags/types";
import type { GuardSignal, GuardStatus, TripRecord } from "./types";

/** What a signal may change in a compile, and what /healthz says about it. */
export interface Honoured {
  overrides: CompileOverrides | null;
  status: GuardStatus;
}

/** A short fingerprint of a flag's signed fallthrough: released step counts are valid for it only. */
export function stepsFingerprint(doc: FlagsDocument, key: string): string {
  return murmur3Utf8(JSON.stringify(doc.flags[key]?.fallthrough ?? null)).toString(36);
}

/** The steps a flag's fallthrough declares (0 when it has none). */
function stepCount(doc: FlagsDocument, key: string): number {
  const f = doc.flags[key]?.fallthrough;
  return typeof f === "object" && f !== null && Array.isArray(f.steps) ? f.steps.length : 0;
}

/**
 * The overrides `signal` may make to the snapshot `(environment, version, doc)`. Undefined or null
 * signal: no trips, and bake-gated flags hold at their base split (nothing says a step baked).
 */
export function honour(
  doc: FlagsDocument,
  environment: string,
  version: number,
  signal: GuardSignal | null | undefined,
): Honoured {
  const ignored: GuardStatus["ignored"] = [];
  const trips: TripRecord[] = [];
  const tripped = new Set<string>();
  const sameEnv = signal?.environment === environment;
  for (const trip of signal?.trips ?? []) {
    const flag =
      typeof trip?.flag === "string" && Object.hasOwn(doc.flags, trip.flag) ? trip.flag : undefined;
    const why = !sameEnv
      ? `for environment ${String(signal?.environment)}`
      : signal?.version !== version
        ? `for version ${String(signal?.version)}, not the served ${version}`
        : flag === undefined
          ? "no such flag in the served snapshot"
          : doc.flags[flag]?.guard === undefined
            ? "the signed snapshot declares no guard for it"
            : undefined;
    if (why !== undefined) {
      ignored.push({ flag: String(trip?.flag), why });
      continue;
    }
    if (tripped.has(flag as string)) continue;
    tripped.add(flag as string);
    trips.push(trip);
  }
  const steps = new Map<string, number>();
  const held: GuardStatus["held"] = {};
  for (const key of Object.keys(doc.flags)) {
    const bake = doc.flags[key]?.guard?.bake;
    if (bake === undefined) continue;
    const signed = stepCount(doc, key);
    if (signed === 0) continue;
    const r = sameEnv ? signal?.released?.[key] : undefined;
    const n =
      r && r.h === stepsFingerprint(doc, key) && Number.isSafeInteger(r.n) && r.n >= 0
        ? Math.min(r.n, signed)
        : 0;
    if (n < signed) {
      steps.set(key, n);
      held[key] = { served: n, signed };
    }
  }
  const status: GuardStatus = {
    gen: signal?.gen ?? null,
    version: signal?.version ?? null,
    trips,
    held,
    ignored,
  };
  const overrides = tripped.size > 0 || steps.size > 0 ? { tripped, steps } : null;
  return { overrides, status };
}
