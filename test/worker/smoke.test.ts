/** The worker entry point as deployed (SELF), with request.cf from the edge and the configured bindings. */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { publishToKv, snapshot } from "./helpers";

it("serves /healthz and visitor flags through the real entry point", async () => {
  await publishToKv(await snapshot({ environment: "test", version: 2 }));
  const health = await SELF.fetch("https://edge.test/healthz");
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: "ok", environment: "test", version: 2 });
  const res = await SELF.fetch("https://edge.test/v1/flags?targetingKey=u", {
    cf: { country: "AT" },
  } as RequestInit);
  expect(await res.json()).toMatchObject({ version: 2, flags: { "banner-text": "Hallo" } });
});
