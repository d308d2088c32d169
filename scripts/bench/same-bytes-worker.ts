/**
 * Reference for the HTTP benchmark: a bare Hono worker that answers with the same bytes as the real
 * worker (bodies given as bindings) but does no work for them, so a run can tell the cost of the
 * answer's size apart from the cost of evaluating. POST reads the request body first, as OFREP does.
 */
import { Hono } from "hono";

type Env = { Bindings: { GET_BODY: string; POST_BODY: string } };
const JSON_TYPE = { "Content-Type": "application/json; charset=utf-8" };

const app = new Hono<Env>();
app.get("*", (c) => c.body(c.env.GET_BODY, 200, JSON_TYPE));
app.post("*", async (c) => {
  await c.req.text();
  return c.body(c.env.POST_BODY, 200, JSON_TYPE);
});

export default app;
