/**
 * Reference for the cold-start benchmark: the hello-world Hono worker with the real worker's bindings
 * (the FLAGS KV namespace and a Durable Object class bound as BEACON, which does nothing), so that
 * start-up figures can tell the local runtime's cost of setting up bindings from the worker's own.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

export class VersionBeacon extends DurableObject {}

const app = new Hono();
app.get("*", (c) => c.json({ hello: "world" }));

export default app;
