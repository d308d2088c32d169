/** Gates in the flags file: what validation accepts, and every mistake reported at its line and column. */
import { describe, expect, it } from "vitest";
import { parseFlagsFile } from "../../src/flags/parse";
import type { FlagsDocument } from "../../src/flags/types";
import { validateDocument } from "../../src/flags/validate";
import { marked } from "./located";

const FLAGS = `flags:
  checkout:
    geo: { block: { countries: [RU] } }
    fallthrough: on
  region:
    variants: { eu: "eu", us: "us", none: "none" }
    offVariant: none
    fallthrough: eu
`;

/** A flags file with the flags above and the given gates list (indented under `gates:`). */
function withGates(body: string): string {
  const indented = body
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  return `${FLAGS}gates:\n${indented}\n`;
}

describe("gates: valid files", () => {
  it("accepts every kind of gate and keeps the document as written", () => {
    const text = withGates(`
- id: geo-block
  pattern: /checkout/*
  flag: checkout
  allow: [on]
  deny: { status: 451, body: "Not available in your country" }
- pattern: /api/v1/orders/:id
  host: "*.example.com"
  methods: [POST, DELETE]
  flag: checkout
  allow: [on]
  deny: { status: 403, json: { error: "blocked", retry: false } }
  onUnavailable: allow
- pattern: /eu{/*}?
  flag: region
  allow: [eu]
  deny: { redirect: "https://example.com/elsewhere", status: 308 }
  inject: true
- pattern: /promo/*
  flag: region
  allow: [eu, us]
  deny: { rewrite: "/promo-unavailable?from=gate" }
- pattern: /checkout/*
  methods: [POST]
  flag: checkout
  allow: [on]
  deny: { redirect: /cart }
- pattern: /Account{/*}?
  flag: checkout
  allow: [on]
  deny: { status: 404 }
  caseSensitive: false
`);
    const { document, problems } = parseFlagsFile(text, "flags.yaml");
    expect(problems).toEqual([]);
    expect(document?.gates).toHaveLength(6);
    expect(document?.gates?.[0]).toEqual({
      id: "geo-block",
      pattern: "/checkout/*",
      flag: "checkout",
      allow: ["on"],
      deny: { status: 451, body: "Not available in your country" },
    });
  });

  it("is optional", () => {
    expect(validateDocument({ flags: { a: { fallthrough: "on" } } }).ok).toBe(true);
    expect(validateDocument({ flags: { a: { fallthrough: "on" } }, gates: [] }).ok).toBe(true);
  });
});

// [what, marked gates list, distinctive part of the message]
const CASES: [string, string, string][] = [
  [
    "pattern that URLPattern refuses",
    `- pattern: ‸/orders/:id(\\d+\n  flag: checkout\n  allow: [on]\n  deny: { status: 404 }`,
    'invalid pattern "/orders/:id(\\\\d+"',
  ],
  [
    "pattern with an encoded slash, which the worker refuses",
    `- pattern: ‸/files/a%2Fb\n  flag: checkout\n  allow: [on]\n  deny: { status: 404 }`,
    'pattern "/files/a%2Fb" can never match',
  ],
  [
    "caseSensitive that is not a boolean",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { status: 404 }\n  caseSensitive: ‸"no"`,
    "caseSensitive must be true or false",
  ],
  [
    "pattern that is not a path",
    `- pattern: ‸checkout/*\n  flag: checkout\n  allow: [on]\n  deny: { status: 404 }`,
    'must start with "/"',
  ],
  [
    "host pattern that URLPattern refuses",
    `- pattern: /x\n  host: ‸"shop.(example.com"\n  flag: checkout\n  allow: [on]\n  deny: { status: 404 }`,
    "invalid host pattern",
  ],
  [
    "unknown flag, with a suggestion",
    `- pattern: /x\n  flag: ‸chekout\n  allow: [on]\n  deny: { status: 451 }`,
    'unknown flag "chekout" (did you mean "checkout"?)',
  ],
  [
    "allow naming an unknown variant",
    `- pattern: /x\n  flag: region\n  allow: [eu, ‸asia]\n  deny: { status: 451 }`,
    'flag "region" has no variant "asia"; its variants are: eu, us, none',
  ],
  [
    "empty allow list",
    `- pattern: /x\n  flag: region\n  allow: ‸[]\n  deny: { status: 451 }`,
    "allow must list at least one variant",
  ],
  [
    "duplicate id",
    `- id: g\n  pattern: /a\n  flag: checkout\n  allow: [on]\n  deny: { status: 451 }\n- id: ‸g\n  pattern: /b\n  flag: checkout\n  allow: [on]\n  deny: { status: 451 }`,
    'gate id "g" is already used by gates[0]',
  ],
  [
    "same pattern, host and methods as an earlier gate (GET covers HEAD)",
    `- pattern: /a/*\n  methods: [GET]\n  flag: checkout\n  allow: [on]\n  deny: { status: 451 }\n- pattern: ‸/a/*\n  methods: [HEAD, GET]\n  flag: region\n  allow: [eu]\n  deny: { status: 403 }`,
    'gate "gate-1" is unreachable: gates[0] has the same pattern, host and methods',
  ],
  [
    "allow covering every variant",
    `- pattern: /x\n  flag: region\n  allow: ‸[eu, us, none]\n  deny: { status: 451 }`,
    'gate "gate-0" can never deny: allow lists every variant of flag "region"',
  ],
  [
    "allow covering the default variants of a boolean flag",
    `- pattern: /x\n  flag: checkout\n  allow: ‸[on, off]\n  deny: { status: 451 }`,
    "can never deny",
  ],
  [
    "deny status out of range",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { status: ‸200 }`,
    "deny status must be from 400 to 599, got 200",
  ],
  [
    "redirect status not a redirect",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { redirect: /y, status: ‸303.5 }`,
    "redirect status must be 301, 302, 303, 307 or 308",
  ],
  [
    "protocol-relative redirect",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { redirect: ‸"//evil.example/" }`,
    "must be an absolute http(s) URL or a path",
  ],
  [
    "redirect to another scheme",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { redirect: ‸"javascript:alert(1)" }`,
    "must be an absolute http(s) URL or a path",
  ],
  [
    "rewrite that is not a path",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { rewrite: ‸"https://other.example/" }`,
    "must be a path on the origin",
  ],
  [
    "body and json together",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { status: 451, body: "no", json: ‸{ a: 1 } }`,
    "either body or json, not both",
  ],
  [
    "body too large",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { status: 451, body: ‸"${"x".repeat(4097)}" }`,
    "body must be at most 4096 bytes",
  ],
  [
    "unknown method",
    `- pattern: /x\n  methods: [‸FETCH]\n  flag: checkout\n  allow: [on]\n  deny: { status: 451 }`,
    'unknown method "FETCH"',
  ],
  [
    "unknown fail policy",
    `- pattern: /x\n  flag: checkout\n  allow: [on]\n  deny: { status: 451 }\n  onUnavailable: ‸open`,
    'unknown onUnavailable "open"; expected one of: deny, allow',
  ],
  [
    "unknown field with a suggestion",
    `- pattern: /x\n  flag: checkout\n  ‸alow: [on]\n  allow: [on]\n  deny: { status: 451 }`,
    'unknown field "alow" (did you mean "allow"?)',
  ],
  ["missing deny", `- ‸pattern: /x\n  flag: checkout\n  allow: [on]`, "gate is missing required field"],
];

describe("gates: each mistake is reported where it is", () => {
  it.each(CASES)("%s", (_what, source, message) => {
    const { text, line, column } = marked(withGates(source));
    const { document, problems } = parseFlagsFile(text, "flags.yaml");
    expect(document).toBeUndefined();
    const hit = problems.find((p) => p.message.includes(message));
    expect(hit, `${message} in ${JSON.stringify(problems)}`).toBeDefined();
    expect([hit?.line, hit?.column]).toEqual([line, column]);
  });

  it("reports a gate whose later twin differs only in being listed later, but not a more specific one", () => {
    const doc: FlagsDocument = {
      flags: { f: { fallthrough: "on" } },
      gates: [
        { pattern: "/a/*", flag: "f", allow: ["on"], deny: { status: 451 } },
        { pattern: "/a/*", methods: ["POST"], flag: "f", allow: ["on"], deny: { status: 403 } },
        { pattern: "/a/*", host: "x.example", flag: "f", allow: ["on"], deny: { status: 403 } },
      ],
    };
    expect(validateDocument(doc).ok).toBe(true);
    const twin = { ...doc, gates: [...doc.gates!, { ...doc.gates![0]!, id: "again" }] };
    const r = validateDocument(twin);
    expect(r.ok ? [] : r.problems.map((p) => p.path.join("."))).toEqual(["gates.3.pattern"]);
  });

  it("lets a case-insensitive twin follow a case-sensitive gate, but not the other way round", () => {
    const base = { pattern: "/a/*", flag: "f", allow: ["on"], deny: { status: 451 } };
    const paths = (gates: FlagsDocument["gates"]) => {
      const r = validateDocument({ flags: { f: { fallthrough: "on" } }, gates });
      return r.ok ? [] : r.problems.map((p) => p.path.join("."));
    };
    const insensitive = { ...base, caseSensitive: false };
    expect(paths([base, insensitive])).toEqual([]);
    expect(paths([insensitive, base])).toEqual(["gates.1.pattern"]);
    expect(paths([base, insensitive, { ...insensitive }])).toEqual(["gates.2.pattern"]);
    expect(paths([base, insensitive, { ...base }])).toEqual(["gates.2.pattern"]);
  });
});
