/** Baseline for the HTTP benchmark: the smallest Hono worker, answering a tiny JSON body. */
import { Hono } from "hono";

const app = new Hono();
app.get("*", (c) => c.json({ hello: "world" }));
app.post("*", (c) => c.json({ hello: "world" }));

export default app;
