/** Hono's typing for this app: bindings and per-request variables. */
import type { Env } from "./env";
import type { Runtime } from "./runtime";

export interface AppEnv {
  Bindings: Env;
  Variables: { rt: Runtime };
}
