/** Hono's typing for this app: bindings and per-request variables. */
import type { VerifiedSnapshot } from "../snapshot/verify";
import type { Env } from "./env";
import type { Runtime } from "./runtime";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    rt: Runtime;
    /** A snapshot whose deferred compile this request's answer asked for (src/http/evaluation.ts). */
    compileAfter?: VerifiedSnapshot;
  };
}
