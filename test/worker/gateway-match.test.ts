/** Gate matching and the decision, as tables: specificity order, host and method matching, path normalisation and refusal. */
import { describe, expect, it } from "vitest";
import type { EvaluationResult } from "../../src/eval/types";
import type { GateDefinition } from "../../src/flags/types";
import { decide, describeDecision } from "../../src/gateway/decide";
import { compileGates, gatesOf, matchGate } from "../../src/gateway/match";
import { gatePath, type PathRefusal } from "../../src/gateway/path";
import { patternShape } from "../../src/gateway/specificity";

const gate = (id: string, pattern: string, extra: Partial<GateDefinition> = {}): GateDefinition => ({
  id,
  pattern,
  flag: "f",
  allow: ["on"],
  deny: { status: 403 },
  ...extra,
});

describe("patternShape", () => {
  it.each<[string, string, number, number]>([
    ["/checkout/*", "/checkout/", 0, 1],
    ["/api/v1/orders/:id", "/api/v1/orders/", 1, 0],
    ["/promo{/*}?", "/promo", 1, 1],
    ["/files/:path+", "/files/", 1, 1],
    ["/a/(\\d+)/b", "/a/", 1, 0],
    ["/x\\*y", "/x*y", 0, 0],
    ["*", "", 0, 1],
  ])("%s", (pattern, prefix, params, wildcards) => {
    expect(patternShape(pattern)).toMatchObject({ prefix, params, wildcards });
  });
});

describe("most specific pattern wins", () => {
  const gates = compileGates([
    gate("catch-all", "/*"),
    gate("checkout", "/checkout/*"),
    gate("checkout-api", "/checkout/api/*"),
    gate("order", "/checkout/api/orders/:id"),
    gate("order-literal", "/checkout/api/orders/latest"),
    gate("post-only", "/checkout/*", { methods: ["POST"] }),
    gate("host-any-path", "/*", { host: "admin.example.com" }),
    gate("host-wildcard", "/checkout/*", { host: "*.example.com" }),
    gate("first-of-twins", "/twin/:a"),
    gate("second-of-twins", "/twin/:b"),
  ]).gates;
  it.each<[string, string, string, string]>([
    ["GET", "shop.example.org", "/about", "catch-all"],
    ["GET", "shop.example.org", "/checkout/cart", "checkout"],
    ["POST", "shop.example.org", "/checkout/cart", "post-only"],
    ["GET", "shop.example.org", "/checkout/api/pay", "checkout-api"],
    ["GET", "shop.example.org", "/checkout/api/orders/7", "order"],
    ["GET", "shop.example.org", "/checkout/api/orders/latest", "order-literal"],
    ["GET", "admin.example.com", "/checkout/api/orders/7", "host-any-path"],
    ["GET", "shop.example.com", "/checkout/api/orders/7", "host-wildcard"],
    ["GET", "shop.example.com", "/about", "catch-all"],
    ["GET", "x.example.org", "/twin/1", "first-of-twins"],
  ])("%s %s%s -> %s", (method, host, path, id) => {
    expect(matchGate(gates, method, host, path)?.id).toBe(id);
  });

  it("matches nothing when no pattern does, and GET gates also gate HEAD", () => {
    const only = compileGates([gate("g", "/a/*", { methods: ["GET"] })]).gates;
    expect(matchGate(only, "GET", "h", "/b")).toBeUndefined();
    expect(matchGate(only, "HEAD", "h", "/a/x")?.id).toBe("g");
    expect(matchGate(only, "POST", "h", "/a/x")).toBeUndefined();
  });

  it("compiles once per snapshot object", () => {
    const snap = { payload: { flags: { gates: [gate("g", "/a")] } } };
    expect(gatesOf(snap)).toBe(gatesOf(snap));
    expect(gatesOf(snap).expiresAt).toBe(Number.POSITIVE_INFINITY);
    expect(gatesOf({ payload: { expiresAt: "2030-01-01T00:00:00Z", flags: {} } }).expiresAt).toBe(
      Date.parse("2030-01-01T00:00:00Z"),
    );
  });
});

describe("gatePath", () => {
  it.each([
    ["/plain/style.css", "/plain/style.css"],
    ["/%63heckout/%41", "/checkout/A"],
    ["/a%7e%2D%5f", "/a~-_"],
    ["//a///b/", "/a/b/"],
    ["/a./b..", "/a/b"],
    ["/a%20/b%20.%20", "/a/b"],
    ["/a;x=1/b;y", "/a/b"],
    ["/;x/a", "/a"],
    ["/a%3Bx/b", "/a/b"],
    ["/caf%C3%A9", "/café"],
    ["/%EF%BD%83heckout", "/checkout"],
    ["/a%EF%BC%8Fb", "/a/b"],
    ["/a%3Fb%23c", "/a?b#c"],
    ["/100%25off", "/100%off"],
    ["/a/%20/b", "/a/b"],
  ])("%s -> %s", (input, output) => {
    expect(gatePath(input)).toEqual({ path: output });
  });

  it.each<[string, PathRefusal]>([
    ["/a%2Fb", "encoded-slash"],
    ["/a%2fb", "encoded-slash"],
    ["/a%5Cb", "encoded-slash"],
    ["/a%5cb", "encoded-slash"],
    ["/a\\b", "backslash"],
    ["/a%EF%BC%BCb", "backslash"],
    ["/a%252Fb", "double-encoding"],
    ["/a%2563", "double-encoding"],
    ["/a%25u002f", "double-encoding"],
    ["/a%EF%BC%85%EF%BC%92%EF%BC%A6", "double-encoding"],
    ["/a%00", "control-character"],
    ["/a%1f", "control-character"],
    ["/a%7F", "control-character"],
    ["/a%u002f", "bad-escape"],
    ["/a%2", "bad-escape"],
    ["/a%zz", "bad-escape"],
    ["/a%C0%AF", "bad-escape"],
    ["/a%FF", "bad-escape"],
    ["/x/..;/a", "dot-segment"],
    ["/x/.;a", "dot-segment"],
    ["/x/%2E%2E;/a", "dot-segment"],
    ["/x/.../a", "dot-segment"],
    ["/x/. ./a", "dot-segment"],
    ["/x/%EF%BC%8E%EF%BC%8E/a", "dot-segment"],
  ])("%s is refused: %s", (input, refused) => {
    expect(gatePath(input)).toEqual({ refused });
  });

  it("matches case-insensitively only for caseSensitive: false gates", () => {
    const gates = compileGates([
      gate("exact", "/Checkout/*"),
      gate("any-case", "/Account/*", { caseSensitive: false }),
    ]).gates;
    expect(matchGate(gates, "GET", "h", "/Checkout/x")?.id).toBe("exact");
    expect(matchGate(gates, "GET", "h", "/checkout/x")).toBeUndefined();
    for (const path of ["/Account/x", "/account/x", "/ACCOUNT/X"]) {
      expect(matchGate(gates, "GET", "h", path)?.id, path).toBe("any-case");
    }
  });
});

describe("decide", () => {
  const [closed, open] = compileGates([
    gate("closed", "/c", { deny: { redirect: "/x" } }),
    gate("open", "/o", { onUnavailable: "allow" }),
  ]).gates.toSorted((a, b) => a.id.localeCompare(b.id));
  const on = { key: "f", value: true, variant: "on", reason: "STATIC" } as EvaluationResult;
  const off = { key: "f", value: false, variant: "off", reason: "TARGETING_MATCH" } as EvaluationResult;
  const broken = { key: "f", value: undefined, reason: "ERROR", errorCode: "GENERAL" } as EvaluationResult;

  it.each<[string, Parameters<typeof decide>[0], string]>([
    ["no gate", { gate: undefined, trusted: true }, "action=pass"],
    [
      "allowed",
      { gate: closed, trusted: true, result: on },
      "gate=closed; flag=f; variant=on; action=pass; reason=allowed",
    ],
    [
      "denied",
      { gate: closed, trusted: true, result: off },
      "gate=closed; flag=f; variant=off; action=redirect; reason=variant",
    ],
    [
      "untrusted, closed",
      { gate: closed, trusted: false },
      "gate=closed; flag=f; action=redirect; reason=unavailable",
    ],
    ["untrusted, open", { gate: open, trusted: false }, "gate=open; flag=f; action=pass; reason=fail-open"],
    [
      "evaluation error, closed",
      { gate: closed, trusted: true, result: broken },
      "gate=closed; flag=f; action=redirect; reason=error",
    ],
    [
      "evaluation error, open",
      { gate: open, trusted: true, result: broken },
      "gate=open; flag=f; action=pass; reason=fail-open",
    ],
  ])("%s", (_what, input, described) => {
    expect(describeDecision(decide(input))).toBe(described);
  });
});
