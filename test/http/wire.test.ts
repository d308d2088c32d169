/** Bulk bodies from cached fragments: byte-equal to plain JSON.stringify, ETags that follow the body. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, evaluateAll } from "../../src/eval/index";
import type { EvaluationResult } from "../../src/eval/types";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import { bulkBody, detailsOf, toOfrep } from "../../src/http/wire";

const NOW = Date.UTC(2026, 0, 15);

/** What the routes sent before fragments: the straightforward serialisation. */
function plain(form: "compact" | "details" | "ofrep", results: EvaluationResult[], version: number) {
  if (form === "ofrep") {
    return JSON.stringify({ flags: results.map(toOfrep), metadata: { version, environment: "e" } });
  }
  const entries = results
    .filter((r) => r.errorCode === undefined)
    .map((r) => `${JSON.stringify(r.key)}:${JSON.stringify(form === "details" ? detailsOf(r) : r.value)}`);
  return `{"version":${version},"flags":{${entries.join(",")}}}`;
}

// Flags whose results vary by key (a split), include an error (split on a missing attribute), a
// JSON variant, a non-ASCII string and a disabled flag.
const doc: FlagsDocument = {
  flags: {
    a: { fallthrough: { split: { on: 50, off: 50 } } },
    b: {
      variants: { x: { deep: [1, "ü"] }, y: ['q"'] },
      offVariant: "x",
      fallthrough: { split: { x: 1, y: 1 } },
    },
    e: { variants: { s: "naïve", t: "" }, offVariant: "t", fallthrough: { split: { s: 1, t: 1 } } },
    c: { fallthrough: { split: { on: 1, off: 1 }, by: "plan" } },
    d: { enabled: false, fallthrough: "on" },
    "9": { variants: { n: 1.5, m: -2 }, offVariant: "n", fallthrough: "m" },
  } as Record<string, FlagDefinition>,
};
const compiled = compile(doc);
const resultsFor = (key: string) => evaluateAll(compiled, { targetingKey: key }, NOW);

describe("bulkBody", () => {
  it.each([
    "compact",
    "details",
    "ofrep",
  ] as const)("%s: same text as JSON.stringify, ETag a function of it", (form) => {
    const byText = new Map<string, string>();
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 3 }),
        (key, version) => {
          const results = resultsFor(key);
          const metadata = JSON.stringify({ version, environment: "e" });
          const body = bulkBody(form, results, version, { metadata });
          const text = body.text();
          expect(text).toBe(plain(form, results, version));
          // Fragments made afresh (results no later request sees again) give the same text and ETag.
          const fresh = bulkBody(form, results, version, { metadata, reuse: false });
          expect(fresh.text()).toBe(text);
          expect(fresh.etag).toBe(body.etag);
          expect(JSON.parse(text)).toBeTypeOf("object");
          expect(body.etag).toMatch(new RegExp(`^"${version}-[0-9a-z]+"$`));
          // Equal bodies always share an ETag; different bodies here never do.
          const seen = byText.get(text);
          if (seen !== undefined) expect(body.etag).toBe(seen);
          for (const [t, e] of byText) if (t !== text) expect(e).not.toBe(body.etag);
          byText.set(text, body.etag);
        },
      ),
    );
    // The property must have seen bodies that differ, or the ETag check above proved nothing.
    expect(byText.size).toBeGreaterThan(3);
  });

  it("leaves failed flags out of /v1 bodies but not out of OFREP", () => {
    const results = resultsFor("k");
    expect(results.some((r) => r.key === "c" && r.errorCode !== undefined)).toBe(true);
    expect(Object.keys(JSON.parse(bulkBody("compact", results, 1).text()).flags)).not.toContain("c");
    const ofrep = JSON.parse(bulkBody("ofrep", results, 1, { metadata: "{}" }).text());
    expect(ofrep.flags.find((f: { key: string }) => f.key === "c").errorCode).toBe("INVALID_CONTEXT");
  });

  it("gives each form its own ETag for the same results", () => {
    const results = resultsFor("k");
    const tags = new Set(
      (["compact", "details", "ofrep"] as const).map((f) => bulkBody(f, results, 1, { metadata: "{}" }).etag),
    );
    expect(tags.size).toBe(3);
  });
});
