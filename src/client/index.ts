/**
 * Code that runs in the visitor's browser, not in the worker: a small helper that gives an OpenFeature
 * web provider a `track` method posting outcome events to POST /v1/events (sendBeacon when there is
 * one). Web APIs only, no imports from the worker's layers, and nothing in the worker imports it.
 */
export { type OutcomeTrackingOptions, withOutcomeTracking } from "./track";
