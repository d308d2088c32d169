/** Worker entry point: the HTTP app with the default per-isolate runtime. */
import { createApp } from "./http/app";

export default createApp();
