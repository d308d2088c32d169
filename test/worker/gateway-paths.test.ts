/**
 * Gate bypass by path encoding, in workerd against a real origin that reads paths as sent and one that
 * decodes them leniently: a blocked visitor never gets the gated resource from either, whatever the
 * spelling (encoded slashes, dot segments, double encoding, `;` parameters, fullwidth letters, case).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { FlagsDocument, GateDefinition } from "../../src/flags/types";
import { type Echo, gatewayHarness } from "./gateway-helpers";
import { publishToKv, snapshot } from "./helpers";

const RU = { country: "RU", continent: "EU", colo: "FRA" };
const US = { country: "US", continent: "NA", colo: "SJC" };
const MODES = ["as-sent", "decoding"] as const;

const checkoutGate = (extra: Partial<GateDefinition> = {}): FlagsDocument => ({
  flags: { "checkout-geo": { geo: { block: { countries: ["RU"] } }, fallthrough: "on" } },
  gates: [
    {
      id: "checkout",
      pattern: "/checkout{/*}?",
      flag: "checkout-geo",
      allow: ["on"],
      deny: { status: 451, body: "blocked" },
      ...extra,
    },
  ],
});

const publish = async (environment: string, flags: FlagsDocument) =>
  publishToKv(await snapshot({ environment, version: 1, flags }), environment);

beforeAll(async () => {
  await publish("gateway-paths", checkoutGate());
  await publish("gateway-paths-nocase", checkoutGate({ caseSensitive: false }));
  await publish("gateway-paths-ungated", { flags: { "checkout-geo": { fallthrough: "on" } } });
});

/** The path the origin served, as that origin read it (X-Origin-Read), or null if it was not asked. */
async function served(environment: string, path: string, mode: (typeof MODES)[number], cf = RU) {
  const events: Record<string, unknown>[] = [];
  const h = gatewayHarness(environment, { DECISION_HEADER: "true" }, { log: (e) => events.push(e) });
  const res = await h.fetch(`https://shop.example.test${path}`, { cf, headers: { "x-origin-mode": mode } });
  const read =
    res.headers.get("x-origin") === "echo" ? decodeURIComponent(res.headers.get("x-origin-read")!) : null;
  return { res, read, events };
}

/** The gated resource, as either origin names it (the decoding one reads case-insensitively). */
const GATED = /^\/checkout(\/|$)/;

type Row = [path: string, status: 400 | 404 | 451, refused?: string];

// Spellings that origins read in incompatible ways: refused before any gate is consulted.
const refused: Row[] = [
  ["/checkout%2Fpay", 400, "encoded-slash"],
  ["/checkout%2fpay", 400, "encoded-slash"],
  ["/%2Fcheckout", 400, "encoded-slash"],
  ["/%2fcheckout/pay", 400, "encoded-slash"],
  ["/x/..%2Fcheckout", 400, "encoded-slash"],
  ["/x/..%2fcheckout/pay", 400, "encoded-slash"],
  ["/x/%2e%2e%2Fcheckout", 400, "encoded-slash"],
  ["/x/..%5Ccheckout", 400, "encoded-slash"],
  ["/x/..%5ccheckout/pay", 400, "encoded-slash"],
  ["/checkout%252Fpay", 400, "double-encoding"],
  ["/%2563heckout/pay", 400, "double-encoding"],
  ["/x/%252e%252e/checkout", 400, "double-encoding"],
  ["/checkout%00", 400, "control-character"],
  ["/checkout%00/pay", 400, "control-character"],
  ["/checkout%0A", 400, "control-character"],
  ["/checkout%u002fpay", 400, "bad-escape"],
  ["/x/..%u2215checkout", 400, "bad-escape"],
  ["/checkout%C0%AFpay", 400, "bad-escape"],
  ["/x/..;/checkout/pay", 400, "dot-segment"],
  ["/x/..;x=1/checkout", 400, "dot-segment"],
  ["/x/.%2E;/checkout", 400, "dot-segment"],
  ["/x/%EF%BC%8E%EF%BC%8E/checkout", 400, "dot-segment"],
  ["/x%EF%BC%8F..%EF%BC%8Fcheckout", 400, "dot-segment"],
  ["/x/..%EF%BC%BCcheckout", 400, "backslash"],
  ["/__edgeflags%2f..%2fcheckout", 400, "encoded-slash"],
  ["/__edgeflags%2F..%2Fcheckout/pay", 400, "encoded-slash"],
  ["/__edgeflags%5c..%5ccheckout", 400, "encoded-slash"],
  ["/files/a%2Fb", 400, "encoded-slash"],
];

// Spellings with one reading: normalised, so the gate applies.
const normalised: Row[] = [
  ["/checkout", 451],
  ["/checkout/pay", 451],
  ["/%63heckout/pay", 451],
  ["/%63%68%65%63%6B%6F%75%74", 451],
  ["//checkout/pay", 451],
  ["///checkout", 451],
  ["/checkout//pay", 451],
  ["/x/../checkout/pay", 451],
  ["/x/%2e%2e/checkout", 451],
  ["/x/..\\checkout", 451],
  ["/checkout./pay", 451],
  ["/checkout%2E/pay", 451],
  ["/checkout..", 451],
  ["/checkout%20/pay", 451],
  ["/checkout%20.%20", 451],
  ["/checkout;jsessionid=abc/pay", 451],
  ["/checkout;x=1", 451],
  ["/;x/checkout", 451],
  ["/checkout%3Bx/pay", 451],
  ["/%EF%BD%83%EF%BD%88%EF%BD%85%EF%BD%83%EF%BD%8B%EF%BD%8F%EF%BD%95%EF%BD%94/pay", 451],
  ["/ｃｈｅｃｋｏｕｔ", 451],
  ["/checkout%EF%BC%8Fpay", 451],
];

// Under API_PREFIX: the worker's own API answers (404), never the origin.
const api: Row[] = [
  ["/__edgeflags/..%2Fcheckout", 404],
  ["/__edgeflags/..%2fcheckout/pay", 404],
  ["/__edgeflags/..;/checkout", 404],
  ["/__edgeflags/%2e%2e%2fcheckout", 404],
  ["/__edgeflags/..%5Ccheckout", 404],
];

describe.each(MODES)("a blocked visitor, origin reading paths %s", (mode) => {
  it.each<Row>([...refused, ...normalised, ...api])("%s -> %i", async (path, status, why) => {
    const { res, read } = await served("gateway-paths", path, mode);
    expect(read === null || !GATED.test(read), `origin served ${read}`).toBe(true);
    expect(res.status).toBe(status);
    if (why) expect(res.headers.get("x-edgeflags-decision")).toBe(`action=deny; reason=path; refused=${why}`);
  });

  it.each<[string]>([
    ["/about"],
    ["/about?next=%2Fcheckout%2F..%5C%00"],
    ["/checkout-info"],
    ["/x/checkout"],
  ])("%s still reaches the origin", async (path) => {
    const { res, read } = await served("gateway-paths", path, mode);
    expect(res.status).toBe(200);
    expect(read).not.toBeNull();
    expect(GATED.test(read!)).toBe(false);
  });
});

describe("refusing and normalising", () => {
  it("answers a refused path with a short plain-text 400 for everyone, and logs why", async () => {
    const { res, read, events } = await served("gateway-paths", "/x/..%2Fcheckout", "decoding", US);
    expect(read).toBeNull();
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(await res.text()).toBe("Bad Request: ambiguous URL path.\n");
    expect(events).toContainEqual({
      event: "gate_denied",
      reason: "path",
      refused: "encoded-slash",
      status: 400,
      method: "GET",
      path: "/x/..%2Fcheckout",
    });
  });

  it("passes an allowed visitor on a normalised spelling, with the path exactly as sent", async () => {
    for (const path of ["/%63heckout/pay", "/checkout;x=1/pay", "//checkout/pay", "/ｃｈｅｃｋｏｕｔ"]) {
      const { res } = await served("gateway-paths", path, "as-sent", US);
      expect(res.status, path).toBe(200);
      const echo = (await res.json()) as Echo;
      expect(new URL(echo.url).pathname, path).toBe(new URL(`https://x${path}`).pathname);
    }
  });

  it("refuses nothing while no gate is published: there is nothing to bypass", async () => {
    for (const path of ["/files/a%2Fb", "/x/..%2Fcheckout", "/%2563"]) {
      const { res } = await served("gateway-paths-ungated", path, "as-sent", RU);
      expect(res.status, path).toBe(200);
      expect(new URL(((await res.json()) as Echo).url).pathname).toBe(path);
    }
  });
});

describe("case", () => {
  const upper: Row[] = [
    ["/CHECKOUT", 451],
    ["/Checkout/pay", 451],
    ["/%43HECKOUT/pay", 451],
    ["/ＣＨＥＣＫＯＵＴ/pay", 451],
    ["/CHECKOUT;x=1/pay", 451],
  ];

  it.each<Row>(upper)("caseSensitive: false gates %s on both origins", async (path, status) => {
    for (const mode of MODES) {
      const { res, read } = await served("gateway-paths-nocase", path, mode);
      expect(read, mode).toBeNull();
      expect(res.status, mode).toBe(status);
    }
  });

  it("a case-sensitive gate (the default) lets /CHECKOUT through: what a case-insensitive origin serves then", async () => {
    const { res, read } = await served("gateway-paths", "/CHECKOUT/pay", "decoding");
    expect(res.status).toBe(200);
    expect(read).toBe("/checkout/pay");
  });
});
