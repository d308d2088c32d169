import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";

it("answers /healthz in workerd", async () => {
  const res = await SELF.fetch("https://edge.test/healthz", { cf: { country: "DE" } } as RequestInit);
  expect(res.status).toBe(200);
});
