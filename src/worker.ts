/** Worker entry point: the HTTP app with the default per-isolate runtime, and the version beacon. */
import { createApp } from "./http/app";

export { VersionBeacon } from "./signal/beacon";

export default createApp();
