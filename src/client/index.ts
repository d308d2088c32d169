/**
 * Code that runs in the visitor's browser, not in the worker: a small helper that gives an OpenFeature
 * web provider a `track` method posting outcome events to POST /v1/events (sendBeacon when there is
 * one). Web APIs only; from the worker it takes only the event-name rule (src/observe/outcomes.ts, pure),
 * and nothing in the worker imports it. Shipped in the package as `edgeflags/client` (dist/client.mjs).
 */
export { type OutcomeTrackingOptions, withOutcomeTracking } from "./track";
