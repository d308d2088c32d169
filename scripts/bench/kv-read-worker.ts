/**
 * Reference for the cold-start benchmark: the hello-world Hono worker plus the one thing no design
 * that keeps snapshots in KV can skip, a read of the live snapshot (its text, as the worker reads it),
 * with nothing verified, parsed or evaluated. Its first request is the floor under the real worker's.
 */
import { Hono } from "hono";
import { kvKeys } from "../../src/snapshot/format";

type Env = { Bindings: { FLAGS: KVNamespace; EDGEFLAGS_ENV: string } };

const app = new Hono<Env>();
app.get("*", async (c) => {
  const jws = await c.env.FLAGS.get(kvKeys.current(c.env.EDGEFLAGS_ENV), { type: "text" });
  return c.json({ bytes: jws?.length ?? 0 });
});

export default app;
