/**
 * Guards: health checks declared in the flags file that move a flag to its off variant everywhere
 * within seconds when a variant hurts, and hold a progressive rollout until each step has baked
 * healthy. The aggregator judges them (judge.ts, board.ts) where every location's counts meet and
 * publishes the outcome through the version beacon; isolates honour that unsigned state only to move
 * a flag back, against their signed snapshot (apply.ts, view.ts). Resets are signed (reset.ts), trips
 * notify a webhook (webhook.ts). Not the publisher's publish guard rails (src/publisher/guards).
 * Design and trust argument: docs/observability.md "Guards".
 */
export { honour, stepsFingerprint } from "./apply";
export { GuardBoard } from "./board";
export { judge } from "./judge";
export { signGuardReset, verifyGuardReset } from "./reset";
export type { GuardSignal, GuardStatus, TripRecord } from "./types";
export { GuardView } from "./view";
