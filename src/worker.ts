/**
 * Worker entry point: the HTTP app with the default per-isolate runtime, the version beacon and the
 * counts aggregator (Durable Objects).
 */
import { createApp } from "./http/app";

export { CountsAggregator } from "./observe/aggregator";
export { VersionBeacon } from "./signal/beacon";

export default createApp();
