/**
 * The trip notification: a Slack-compatible JSON body (`text`, plus the structured trip under
 * `edgeflags`) and the delivery schedule (exponential backoff). The aggregator sends it from its alarm
 * with the shared secret in a header. Pure, no I/O.
 */
import type { TripRecord } from "./types";

/** Header carrying GUARD_WEBHOOK_SECRET, for the receiver to check. */
export const WEBHOOK_SECRET_HEADER = "x-edgeflags-webhook-secret";
/** Attempts before a message is given up on (the last about 17 minutes after the first). */
export const WEBHOOK_MAX_ATTEMPTS = 10;

/** One message waiting to be delivered. */
export interface OutboxItem {
  id: string;
  body: string;
  attempts: number;
  nextAt: number;
  lastError?: string;
}

/** Delay before attempt `attempts + 1` (after `attempts` failures): 2 s doubling, at most 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(2000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 100} %`;
}

/** What a trip's numbers read like: rates as percentages, latency in ms. */
function show(metric: TripRecord["metric"], x: number): string {
  return metric === "origin-latency" ? `${x} ms` : pct(x);
}

/** The webhook body for a trip of `version` in `environment`. */
export function tripMessage(environment: string, version: number, trip: TripRecord): string {
  const against =
    trip.control === null
      ? `above its threshold ${show(trip.metric, trip.limit)}`
      : `against ${show(trip.metric, trip.control)} for the control (${trip.controlSamples} samples), limit ${show(trip.metric, trip.limit)}`;
  const text =
    `:rotating_light: edgeflags guard tripped: flag \`${trip.flag}\` (${environment}, version ${version}) ` +
    `now serves its off variant everywhere. Variant \`${trip.variant}\` had ${trip.metric} ` +
    `${show(trip.metric, trip.value)} over ${trip.samples} samples, ${against}. ` +
    `Re-arm with a new publish or \`edgeflags guard reset ${trip.flag}\`.`;
  return JSON.stringify({ text, edgeflags: { event: "guard_tripped", environment, version, trip } });
}
