/**
 * Reading a flags file takes work in proportion to its size, and an over-size file is refused before
 * any parsing. Counted, not timed: the yaml library is wrapped to count the key comparisons of its
 * unique-key check and every key our code inspects (isScalar), so doubling the flags must about double
 * the count. Speed itself is measured by `npm run bench -- parse`.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

const counts = vi.hoisted(() => ({ parses: 0, operations: 0 }));

vi.mock("yaml", async (importOriginal) => {
  const yaml = await importOriginal<typeof import("yaml")>();
  return {
    ...yaml,
    isScalar: (node: unknown) => {
      counts.operations++;
      return yaml.isScalar(node);
    },
    parseDocument: (source: string, options?: Parameters<typeof yaml.parseDocument>[1]) => {
      counts.parses++;
      // yaml's own unique-key check, made countable: the same equality as its default.
      const counted =
        options?.uniqueKeys === false
          ? options
          : {
              ...options,
              uniqueKeys: (a: unknown, b: unknown) => {
                counts.operations++;
                return a === b || (yaml.isScalar(a) && yaml.isScalar(b) && a.value === b.value);
              },
            };
      return yaml.parseDocument(source, counted);
    },
  };
});

const { MAX_FLAGS_FILE_BYTES, parseFlagsFile } = await import("../../src/flags/parse");

beforeEach(() => {
  counts.parses = 0;
  counts.operations = 0;
});

/** Operations to read `text`, after checking what it reports. */
function operations(text: string, expectProblems: number): number {
  counts.operations = 0;
  const { problems } = parseFlagsFile(text, "f.yaml");
  expect(problems).toHaveLength(expectProblems);
  return counts.operations;
}

const FILES: [string, (n: number) => string, (n: number) => number][] = [
  [
    "valid flags, each with a split whose written order must be kept",
    (n) => {
      let out = "flags:\n";
      for (let i = 0; i < n; i++) {
        out += `  f${i}:\n    variants: { "10": true, "2": false }\n    offVariant: "2"\n    fallthrough: { split: { "10": 1, "2": 1 } }\n`;
      }
      return out;
    },
    () => 0,
  ],
  [
    "flags that each have a problem to locate",
    (n) => {
      let out = "flags:\n";
      for (let i = 0; i < n; i++) out += `  f${i}:\n    kind: opps\n    fallthrough: on\n`;
      return out;
    },
    (n) => n,
  ],
  [
    "flags with a duplicate key at the end",
    (n) => {
      let out = "flags:\n";
      for (let i = 0; i < n; i++) out += `  f${i}: { fallthrough: on }\n`;
      return `${out}  f0: { fallthrough: off }\n`;
    },
    () => 1,
  ],
];

describe("reading a flags file is linear in its size", () => {
  it.each(FILES)("%s", (_, make, problems) => {
    const small = operations(make(1000), problems(1000));
    const large = operations(make(2000), problems(2000));
    expect(small).toBeGreaterThan(0);
    // Quadratic work would make this about 4.
    expect(large / small).toBeLessThan(2.2);
  });
});

describe("duplicate keys", () => {
  it.each([
    ["in a block map", "flags:\n  x: { fallthrough: on }\n  ‸x: { fallthrough: off }\n", "x"],
    ["in a flow map", "flags: { x: { fallthrough: on, ‸fallthrough: off } }\n", "fallthrough"],
    ["in JSON", '{"flags": {"x": {"fallthrough": "on", ‸"fallthrough": "off"}}}', "fallthrough"],
    // Both become the key "1" of the data: one of them would be silently lost.
    [
      "spelled as a number and a string",
      'flags:\n  x:\n    variants: { 1: a, ‸"1": b }\n    fallthrough: "1"\n',
      "1",
    ],
    [
      "three times",
      "flags:\n  x: { fallthrough: on }\n  x: { fallthrough: on }\n  ‸x: { fallthrough: on }\n",
      "x",
    ],
  ])("are reported %s, where the repeat is", (_, source, key) => {
    const index = source.indexOf("‸");
    const text = source.replace("‸", "");
    const before = text.slice(0, index);
    const { document, problems } = parseFlagsFile(text, "f.yaml");
    expect(document).toBeUndefined();
    const last = problems[problems.length - 1]!;
    expect(last).toMatchObject({
      line: before.split("\n").length,
      column: index - before.lastIndexOf("\n"),
      message: `duplicate key ${JSON.stringify(key)}: a key may appear only once in a map`,
    });
  });

  it("leave the first of the repeated keys as the data that is validated", () => {
    const { problems } = parseFlagsFile(
      "flags:\n  x: { fallthrough: on }\n  x: { fallthrough: nope }\n",
      "f",
    );
    // Only the duplicate: the second definition (with its unknown variant) is not validated.
    expect(problems.map((p) => p.message)).toEqual([
      'duplicate key "x": a key may appear only once in a map',
    ]);
  });
});

describe("an over-size flags file", () => {
  it("is refused at once, without parsing, naming the file and the limit", () => {
    const text = `flags:\n  x: { fallthrough: on, description: "${"d".repeat(MAX_FLAGS_FILE_BYTES)}" }\n`;
    const { document, problems } = parseFlagsFile(text, "big.yaml");
    expect(counts.parses).toBe(0);
    expect(document).toBeUndefined();
    expect(problems).toEqual([
      {
        file: "big.yaml",
        line: 1,
        column: 1,
        path: [],
        message: `the flags file is ${text.length} bytes; the limit is 5242880 bytes (5 MiB)`,
      },
    ]);
  });

  it("counts UTF-8 bytes, not characters", () => {
    // 1.9 M characters, each 3 bytes in UTF-8: over the limit in bytes only.
    const text = `flags: {}\n# ${"€".repeat(1_900_000)}\n`;
    expect(text.length).toBeLessThan(MAX_FLAGS_FILE_BYTES);
    expect(parseFlagsFile(text, "f.yaml").problems[0]?.message).toMatch(/^the flags file is \d+ bytes/);
    expect(counts.parses).toBe(0);
  });

  it("is read when it is just under the limit", () => {
    const head = "flags:\n  x: { fallthrough: on }\n# ";
    const text = `${head}${"c".repeat(MAX_FLAGS_FILE_BYTES - head.length - 1)}\n`;
    expect(text.length).toBe(MAX_FLAGS_FILE_BYTES);
    expect(parseFlagsFile(text, "f.yaml").problems).toEqual([]);
  });
});
