/**
 * Generates src/flags/shape.generated.ts: the flags-file schema (src/flags/schema.ts) compiled to
 * plain code, so the worker can check every snapshot's shape without valibot or the schema objects in
 * its bundle. `npm run schema` writes it; a test checks it is current, and property tests check that
 * it accepts exactly what the valibot schema accepts.
 *
 * The worker checks a snapshot once per isolate, on code that has never run, where V8 interprets
 * every call. So the output is straight-line code with few calls: one function per object schema
 * (and per union), which walks the object's keys once with `for...in` and a `switch` on the key
 * (an unknown key is the `default`), and checks each field in place: leaf values with `typeof`, hoisted
 * regexes and picklist tests, lists and maps with inline loops. A union first tries each option the
 * value can fit (by kind, or by a required key only that option has) and only when none fits re-runs
 * them all (`anyOf`) for the problem to report. Nothing is allocated unless the check fails.
 *
 * Measured on a fresh process checking the 1,000-flag benchmark document, `for...in` with a `switch`
 * was as fast as a lookup table of field numbers and faster than `Object.keys`; for the 21 operators
 * a lookup table was at least as fast as a `Set`, and a chain of `===` slower. Like valibot's strict
 * object, an object's check walks its keys with `for...in`; a map's check takes its own keys only, like
 * valibot's record (JSON and YAML make no other kind).
 */
import { fileURLToPath } from "node:url";
import type { GenericSchema } from "valibot";
import * as s from "../src/flags/schema";

export const SHAPE_FILE = fileURLToPath(new URL("../src/flags/shape.generated.ts", import.meta.url));

/** The parts of valibot's schema and action objects the generator reads. */
interface Part {
  kind: string;
  type: string;
  expects?: string;
  pipe?: Part[];
  entries?: Record<string, Part>;
  options?: unknown[];
  item?: Part;
  key?: Part;
  value?: Part;
  wrapped?: Part;
  default?: unknown;
  fallback?: unknown;
  getter?: (input: unknown) => Part;
  requirement?: unknown;
}

/**
 * One test of a leaf value: `ok(v)` is a JS expression, true when `v` passes; else `expected` (a JS
 * expression too, so that a message naming a regex refers to the regex rather than repeating it).
 */
interface Step {
  ok: (v: string) => string;
  expected: string;
}

const str = (text: string) => JSON.stringify(text);
const isMapExpr = (v: string) => `typeof ${v} === "object" && ${v} !== null && !Array.isArray(${v})`;
const indent = (lines: string[]) => lines.map((line) => `  ${line}`);

/** The part a schema stands for: a lazy schema's union (see `check`), or the schema itself. */
function resolve(part: Part): Part {
  if (part.type !== "lazy") return part;
  // Every lazy schema here picks one of a few strict shapes by a key only that shape allows (or by
  // map versus string), and answers the union of them for `undefined`. The union accepts the same
  // documents: the other shapes refuse the distinguishing key or kind.
  if (!part.getter) throw new Error("gen-shape: lazy without a getter");
  return part.getter(undefined);
}

/** The schema of a part and its pipe's validation actions. */
function piped(part: Part): [Part, Part[]] {
  if (!Array.isArray(part.pipe)) return [part, []];
  const [schema, ...actions] = part.pipe.filter((item) => item.kind !== "metadata");
  if (!schema || schema.kind !== "schema")
    throw new Error(`gen-shape: a pipe of ${part.type} without a schema`);
  for (const action of actions) {
    if (action.kind !== "validation")
      throw new Error(`gen-shape: ${action.kind} ${action.type} is not supported`);
  }
  return [schema, actions];
}

class Generator {
  private readonly constants: string[] = [];
  private readonly constantNames = new Map<string, string>();
  private readonly functions: string[] = [];
  private readonly byPart = new Map<Part, string>();
  private readonly byBody = new Map<string, string>();
  private readonly names = new Map<Part, string>();
  private readonly pending = new Set<Part>();

  constructor() {
    // Functions are named after the exported schemas they check (FlagSchema -> flag).
    for (const [name, value] of Object.entries(s)) {
      if (typeof value !== "object" || value === null || (value as Part).kind !== "schema") continue;
      const part = resolve(value as Part);
      const fn = name.replace(/Schema$/, "").replace(/^./, (c) => c.toLowerCase());
      if (!this.names.has(part)) this.names.set(part, fn);
    }
  }

  /** A module constant holding `expr` (a regex or a set), shared by equal expressions. */
  private constant(expr: string): string {
    let name = this.constantNames.get(expr);
    if (name === undefined) {
      name = `C${this.constantNames.size}`;
      this.constantNames.set(expr, name);
      this.constants.push(`const ${name} = ${expr};`);
    }
    return name;
  }

  /** The name of a function `(x: unknown) => boolean` that checks `part`; equal functions are shared. */
  fn(part: Part): string {
    const known = this.byPart.get(part);
    if (known !== undefined) return known;
    if (this.pending.has(part)) throw new Error(`gen-shape: a recursive schema (${part.type})`);
    this.pending.add(part);
    const body =
      part.type === "strict_object"
        ? this.object(part)
        : part.type === "union"
          ? this.union(part)
          : [...this.emit(part, "x", [], 0), "return true;"];
    const text = indent(body).join("\n");
    let name = this.byBody.get(text);
    if (name === undefined) {
      name = this.names.get(part) ?? `f${this.byBody.size}`;
      this.byBody.set(text, name);
      this.functions.push(`function ${name}(x: unknown): boolean {\n${text}\n}`);
    }
    this.pending.delete(part);
    this.byPart.set(part, name);
    return name;
  }

  /** The tests of a value that has no parts (a string, a number, a picklist...), or undefined. */
  private steps(part: Part): Step[] | undefined {
    const [schema, actions] = piped(resolve(part));
    if (schema.default !== undefined || schema.fallback !== undefined) {
      throw new Error(`gen-shape: defaults and fallbacks are not supported (${schema.type})`);
    }
    let steps: Step[];
    switch (schema.type) {
      case "string":
        steps = [{ ok: (v) => `typeof ${v} === "string"`, expected: str("a string") }];
        break;
      case "number":
        steps = [{ ok: (v) => `typeof ${v} === "number" && ${v} === ${v}`, expected: str("a number") }];
        break;
      case "boolean":
        steps = [{ ok: (v) => `typeof ${v} === "boolean"`, expected: str("true or false") }];
        break;
      case "picklist": {
        const options = schema.options ?? [];
        if (options.every((o) => typeof o === "string" && !/^\d+$/.test(o))) {
          // A lookup in a map without a prototype, whose keys (in order) also make the message. For the
          // 21 operators it was faster on cold code than a chain of ===.
          const table = this.constant(`table(${JSON.stringify(options)})`);
          steps = [
            { ok: (v) => `typeof ${v} === "string" && ${table}[${v}] === 1`, expected: `oneOf(${table})` },
          ];
        } else {
          const ok = (v: string) => `(${options.map((o) => `${v} === ${JSON.stringify(o)}`).join(" || ")})`;
          steps = [{ ok, expected: str(`one of ${options.map((o) => JSON.stringify(o)).join(", ")}`) }];
        }
        break;
      }
      case "custom":
        if ((schema as unknown) !== s.JsonValueSchema) {
          throw new Error("gen-shape: a v.custom schema the generator does not know");
        }
        steps = [{ ok: (v) => `isJsonValue(${v})`, expected: str("plain JSON") }];
        break;
      case "union": {
        // A union of leaves fails without a path, so it reports what the union expects.
        const options = (schema.options ?? []).map((o) => this.steps(o as Part));
        if (options.some((o) => o === undefined)) return undefined;
        if (actions.length > 0) throw new Error("gen-shape: a pipe on a union");
        const all = (v: string) => (o: Step[]) => o.map((step) => step.ok(v)).join(" && ");
        const ok = (v: string) => options.map((o) => `(${all(v)(o as Step[])})`).join(" || ");
        return [{ ok, expected: str(schema.expects ?? "") }];
      }
      default:
        return undefined;
    }
    return [...steps, ...actions.map((action) => this.action(action))];
  }

  /** A validation action, after its schema accepted the value's type. */
  private action(item: Part): Step {
    const r = item.requirement;
    switch (item.type) {
      case "regex": {
        if (!(r instanceof RegExp) || r.global || r.sticky) throw new Error("gen-shape: unsupported regex");
        const re = this.constant(String(r));
        return { ok: (v) => `${re}.test(${v})`, expected: `"text matching " + ${re}` };
      }
      case "non_empty":
        return { ok: (v) => `${v}.length !== 0`, expected: str("not empty") };
      // Number.isInteger and Number.isFinite, for a number that is not NaN.
      case "integer":
        return { ok: (v) => `${v} % 1 === 0`, expected: str("a whole number") };
      case "finite":
        return { ok: (v) => `${v} - ${v} === 0`, expected: str("a finite number") };
      case "min_value":
        return { ok: (v) => `${v} >= ${Number(r)}`, expected: str(`a number >= ${Number(r)}`) };
      case "max_value":
        return { ok: (v) => `${v} <= ${Number(r)}`, expected: str(`a number <= ${Number(r)}`) };
      default:
        throw new Error(`gen-shape: action ${item.type} is not supported here`);
    }
  }

  /**
   * Statements that check the value in the variable `v` and return a failure (recording what was
   * expected and `path`, the keys around `v`, innermost first) or fall through when it fits.
   */
  private emit(part: Part, v: string, path: string[], depth: number): string[] {
    const keys = path.map((key) => `, ${key}`).join("");
    const fail = (expected: string) => `return no(${expected}${keys});`;
    if (part.type === "optional") {
      if (!part.wrapped) throw new Error("gen-shape: optional without a schema");
      if (part.default !== undefined) throw new Error("gen-shape: defaults are not supported");
      const steps = this.steps(part.wrapped);
      if (steps?.length === 1) {
        return [
          `if (${v} !== undefined && !(${(steps[0] as Step).ok(v)})) ${fail((steps[0] as Step).expected)}`,
        ];
      }
      return [`if (${v} !== undefined) {`, ...indent(this.emit(part.wrapped, v, path, depth)), "}"];
    }
    const steps = this.steps(part);
    if (steps) return steps.map((step) => `if (!(${step.ok(v)})) ${fail(step.expected)}`);
    const resolved = resolve(part);
    const [schema, actions] = piped(resolved);
    switch (schema.type) {
      case "strict_object":
      case "union":
        if (actions.length > 0) throw new Error(`gen-shape: a pipe on ${schema.type}`);
        return [
          `if (!${this.fn(resolved)}(${v})) return ${path.length > 0 ? `up(${path.join(", ")})` : "false"};`,
        ];
      case "array": {
        if (!schema.item) throw new Error("gen-shape: array without an item schema");
        const i = `i${depth}`;
        const e = `e${depth}`;
        const lines = [`if (!Array.isArray(${v})) ${fail(str("a list"))}`];
        for (const action of actions) {
          if (action.type !== "non_empty") throw new Error(`gen-shape: action ${action.type} on a list`);
          // Before the items rather than after: an empty list has none to fail first.
          lines.push(`if (${v}.length === 0) ${fail(str("not empty"))}`);
        }
        const item = this.emit(schema.item, e, [i, ...path], depth + 1);
        return [
          ...lines,
          `for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`,
          `  const ${e} = ${v}[${i}];`,
          ...indent(item),
          "}",
        ];
      }
      case "record": {
        if (!schema.key || !schema.value) throw new Error("gen-shape: record without key and value schemas");
        const k = `k${depth}`;
        const e = `e${depth}`;
        const n = `n${depth}`;
        let min = 0;
        for (const action of actions) {
          if (action.type !== "min_entries") throw new Error(`gen-shape: action ${action.type} on a map`);
          min = Math.max(min, Number(action.requirement));
        }
        const keySteps = this.steps(schema.key);
        if (!keySteps || keySteps[0]?.expected !== str("a string"))
          throw new Error("gen-shape: a map key that is not text");
        // The keys `for...in` walks are strings already.
        const keyChecks = keySteps
          .slice(1)
          .map(
            (step) => `if (!(${step.ok(k)})) return no("a key that is " + ${step.expected}, ${k}${keys});`,
          );
        const value = this.emit(schema.value, e, [k, ...path], depth + 1);
        return [
          `if (!(${isMapExpr(v)})) ${fail(str("a map"))}`,
          ...(min > 0 ? [`let ${n} = 0;`] : []),
          `for (const ${k} in ${v}) {`,
          // Own keys only, like valibot's record (a map from JSON or YAML has no others).
          `  if (!Object.hasOwn(${v}, ${k})) continue;`,
          ...indent(keyChecks),
          `  const ${e} = (${v} as Record<string, unknown>)[${k}];`,
          ...indent(value),
          ...(min > 0 ? [`  ${n}++;`] : []),
          "}",
          ...(min > 0 ? [`if (${n} < ${min}) ${fail(str(`at least ${min} entries`))}`] : []),
        ];
      }
      default:
        throw new Error(`gen-shape: schema type ${schema.type} is not supported`);
    }
  }

  /** A strict object: each field checked in place, unknown keys refused, then the required ones. */
  private object(part: Part): string[] {
    const cases = new Map<string, string[]>();
    const required: string[] = [];
    for (const [name, entry] of Object.entries(part.entries ?? {})) {
      if (entry.default !== undefined || entry.fallback !== undefined) {
        throw new Error(`gen-shape: field ${name} has a default`);
      }
      const lines = this.emit(entry, "v", ["k"], 1);
      if (entry.type !== "optional") {
        required.push(name);
        lines.push("n++;");
      }
      // Fields checked alike share one case.
      const body = lines.join("\n");
      cases.set(body, [...(cases.get(body) ?? []), name]);
    }
    const switchLines: string[] = [];
    for (const [body, names] of cases) {
      for (const name of names) switchLines.push(`case ${str(name)}:`);
      switchLines.push(...indent([...body.split("\n"), "break;"]));
    }
    switchLines.push("default:", '  return no("no such field", k);');
    return [
      `if (!(${isMapExpr("x")})) return no("a map of fields");`,
      "const o = x as Record<string, unknown>;",
      ...(required.length > 0 ? ["let n = 0;"] : []),
      "for (const k in o) {",
      "  const v = o[k];",
      "  switch (k) {",
      ...indent(indent(switchLines)),
      "  }",
      "}",
      // Each required field the loop met counted once; when one is missing, report the first.
      required.length > 0
        ? `return n === ${required.length} || present(o, ${required.map(str).join(", ")});`
        : "return true;",
    ];
  }

  /** A union: quick tries of the options the value can fit, else `anyOf` for the problem. */
  private union(part: Part): string[] {
    const options = (part.options ?? []).map((o) => resolve(o as Part));
    const quick: string[] = [];
    const later: string[] = [];
    options.forEach((option, index) => {
      const steps = this.steps(option);
      if (steps) {
        quick.push(`if (${steps.map((step) => step.ok("x")).join(" && ")}) return true;`);
        return;
      }
      const [schema] = piped(option);
      const name = this.fn(option);
      if (schema.type === "strict_object") {
        // A required field no other option has: only this option can fit a value without it.
        const others = options.filter((_, j) => j !== index);
        const key = Object.entries(schema.entries ?? {}).find(
          ([field, entry]) =>
            entry.type !== "optional" && others.every((o) => !(field in (piped(o)[0].entries ?? {}))),
        )?.[0];
        if (key !== undefined) {
          quick.push(
            `if (typeof x === "object" && x !== null && ${str(key)} in x && ${name}(x)) return true;`,
          );
          return;
        }
        later.push(`if (${isMapExpr("x")} && ${name}(x)) return true;`);
      } else if (schema.type === "array") {
        quick.push(`if (Array.isArray(x) && ${name}(x)) return true;`);
      } else if (schema.type === "record") {
        later.push(`if (${isMapExpr("x")} && ${name}(x)) return true;`);
      } else {
        later.push(`if (${name}(x)) return true;`);
      }
    });
    const all = options.map((option) => this.fn(option));
    return [...quick, ...later, `return anyOf(x, [${all.join(", ")}], ${str(part.expects ?? "")});`];
  }

  source(root: string): string {
    return `${HEADER}
${this.constants.join("\n")}

${this.functions.join("\n\n")}

/** Checks a flags document's shape; undefined when the schema accepts it. */
export function checkShape(doc: unknown): ShapeProblem | undefined {
  return runCheck(${root}, doc);
}
`;
  }
}

const HEADER = `// GENERATED by \`npm run schema\` from src/flags/schema.ts (scripts/gen-shape.ts). Do not edit.
/**
 * The flags-file schema as plain code: what the worker checks every snapshot's flags against, without
 * valibot in its bundle. Accepts exactly what src/flags/schema.ts accepts (test/flags/shape.test.ts),
 * except that it checks the keys \`__proto__\`, \`constructor\` and \`prototype\` of a map or an object
 * like any other, where valibot skips them. Straight-line code for cold isolates, see
 * scripts/gen-shape.ts; the success path allocates nothing. Pure, no I/O.
 */
import { anyOf, isJsonValue, no, oneOf, present, runCheck, type ShapeProblem, table, up } from "./shape-checks";

export type { ShapeProblem };
`;

/** The TypeScript source of src/flags/shape.generated.ts. */
export function generateShapeChecker(): string {
  const gen = new Generator();
  const root = gen.fn(s.FlagsDocumentSchema as GenericSchema as unknown as Part);
  return gen.source(root);
}
