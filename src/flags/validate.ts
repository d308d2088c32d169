/**
 * Validates a parsed flags document: the schema first, then the semantic checks, collecting every
 * problem. Pure, no I/O and no YAML. The publisher runs it on every file it validates or publishes; the
 * worker checks snapshots with the code generated from the schema (shape.generated.ts) and compile.
 */
import * as v from "valibot";
import { reporter } from "./access";
import { checkDocument } from "./check-document";
import { describe } from "./messages";
import type { Problem } from "./problem";
import { FlagsDocumentSchema } from "./schema";
import { checkShape } from "./shape.generated";
import type { FlagsDocument } from "./types";

export type { Problem } from "./problem";

export type ValidationResult = { ok: true; document: FlagsDocument } | { ok: false; problems: Problem[] };

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "true or false",
  Object: "a map",
  Array: "a list",
};

/** Fallback wording for the few valibot issues the schema gives no message of its own. */
function plainMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema") {
    const expected = issue.expected ?? "something else";
    return `expected ${EXPECTED[expected] ?? expected}, got ${describe(issue.input)}`;
  }
  return `${describe(issue.input)} is not valid (${issue.type.replaceAll("_", " ")} ${String(issue.requirement ?? "")})`.trim();
}

function toProblem(issue: v.BaseIssue<unknown>): Problem {
  const items = issue.path ?? [];
  const path = items.map((item) => item.key as string | number);
  const last = items[items.length - 1];
  return last?.origin === "key"
    ? { path, message: issue.message, onKey: true }
    : { path, message: issue.message };
}

/**
 * Checks `input` against the flags-file contract. Returns the input itself (not a copy, defaults not
 * applied) when it is valid, else every problem found, each with the path of the offending node.
 */
export function validateDocument(input: unknown): ValidationResult {
  if (input === null || input === undefined) {
    return {
      ok: false,
      problems: [{ path: [], message: 'the flags file is empty: it needs a "flags" map' }],
    };
  }
  const problems: Problem[] = [];
  // The generated shape check accepts exactly what the schema accepts, without valibot's copy of the
  // whole document; valibot itself runs only to word the problems of a document it refuses.
  const shape = checkShape(input);
  if (shape !== undefined) {
    const result = v.safeParse(FlagsDocumentSchema, input, { message: plainMessage });
    if (!result.success) for (const issue of result.issues) problems.push(toProblem(issue));
    // valibot skips the keys __proto__, constructor and prototype, which the worker's shape check
    // refuses; without this, such a file would pass here and be refused at publish.
    else problems.push({ path: shape.path, message: `expected ${shape.expected}` });
  }
  checkDocument(input, reporter(problems));
  return problems.length === 0 ? { ok: true, document: input as FlagsDocument } : { ok: false, problems };
}
