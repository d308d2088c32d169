/**
 * Generates src/flags/shape.generated.ts: the flags-file schema (src/flags/schema.ts) compiled to
 * plain code, so the worker can check every snapshot's shape without valibot or the schema objects in
 * its bundle. `npm run schema` writes it; a test checks it is current, and property tests check that
 * it accepts exactly what the valibot schema accepts.
 *
 * Each schema node becomes a check `(x) => boolean` built from a few combinators at load time. On a
 * mismatch the failing check records what was expected and each enclosing list, map or object pushes
 * its key, so the path costs nothing on the success path. Identical nodes (the schema has many
 * `text("...")` strings) share one check.
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

class Generator {
  private readonly byPart = new Map<Part, string>();
  private readonly byExpr = new Map<string, string>();
  private readonly lines: string[] = [];

  /** The name of the constant that checks `part`; children are declared before their parents. */
  check(part: Part): string {
    let name = this.byPart.get(part);
    if (name === undefined) {
      const expr = this.expr(part);
      name = this.byExpr.get(expr);
      if (name === undefined) {
        name = `c${this.byExpr.size}`;
        this.byExpr.set(expr, name);
        this.lines.push(`const ${name}: Check = ${expr};`);
      }
      this.byPart.set(part, name);
    }
    return name;
  }

  private expr(part: Part): string {
    if (Array.isArray(part.pipe)) {
      const steps = part.pipe
        .filter((item) => item.kind !== "metadata")
        .map((item) => (item.kind === "schema" ? this.schema(item) : this.action(item)));
      return `all(${steps.join(", ")})`;
    }
    return this.schema(part);
  }

  /** A check expression for one schema (its pipe, if any, is handled by `expr`). */
  private schema(part: Part): string {
    if (part.kind !== "schema") throw new Error(`gen-shape: ${part.kind} ${part.type} is not a schema`);
    if (part.default !== undefined || part.fallback !== undefined) {
      throw new Error(`gen-shape: defaults and fallbacks are not supported (${part.type})`);
    }
    switch (part.type) {
      case "string":
        return "text";
      case "number":
        return "num";
      case "boolean":
        return "bool";
      case "picklist":
        return `oneOf(${JSON.stringify(part.options ?? [])})`;
      case "custom":
        if ((part as unknown) === s.JsonValueSchema) return "jsonValue";
        throw new Error("gen-shape: a v.custom schema the generator does not know");
      case "optional":
        if (!part.wrapped) throw new Error("gen-shape: optional without a schema");
        return `opt(${this.check(part.wrapped)})`;
      case "lazy":
        // Every lazy schema here picks one of a few strict shapes by a key only that shape allows (or
        // by map versus string), and answers the union of them for `undefined`. The union accepts the
        // same documents: the other shapes refuse the distinguishing key or kind.
        if (!part.getter) throw new Error("gen-shape: lazy without a getter");
        return this.check(part.getter(undefined));
      case "union": {
        const names = (part.options ?? []).map((o) => this.check(o as Part));
        return `anyOf([${names.join(", ")}], ${JSON.stringify(part.expects ?? "")})`;
      }
      case "array":
        if (!part.item) throw new Error("gen-shape: array without an item schema");
        return `list(${this.check(part.item)})`;
      case "record":
        if (!part.key || !part.value) throw new Error("gen-shape: record without key and value schemas");
        return `map(${this.check(part.key)}, ${this.check(part.value)})`;
      case "strict_object": {
        const fields: string[] = [];
        const required: string[] = [];
        for (const [name, entry] of Object.entries(part.entries ?? {})) {
          if (entry.default !== undefined || entry.fallback !== undefined) {
            throw new Error(`gen-shape: field ${name} has a default`);
          }
          fields.push(`${JSON.stringify(name)}: ${this.check(entry)}`);
          if (entry.type !== "optional") required.push(name);
        }
        return `fields({ ${fields.join(", ")} }, ${JSON.stringify(required)})`;
      }
      default:
        throw new Error(`gen-shape: schema type ${part.type} is not supported`);
    }
  }

  /** A validation action, after its schema accepted the value's type. */
  private action(item: Part): string {
    if (item.kind !== "validation") throw new Error(`gen-shape: ${item.kind} ${item.type} is not supported`);
    const r = item.requirement;
    switch (item.type) {
      case "regex":
        if (!(r instanceof RegExp) || r.global || r.sticky) throw new Error("gen-shape: unsupported regex");
        return `matches(${String(r)})`;
      case "non_empty":
        return "nonEmpty";
      case "integer":
        return "whole";
      case "finite":
        return "finite";
      case "min_value":
        return `atLeast(${Number(r)})`;
      case "max_value":
        return `atMost(${Number(r)})`;
      case "min_entries":
        return `minEntries(${Number(r)})`;
      default:
        throw new Error(`gen-shape: action ${item.type} is not supported`);
    }
  }

  source(root: string): string {
    return `${HEADER}
${this.lines.join("\n")}

/** Checks a flags document's shape; undefined when the schema accepts it. */
export function checkShape(doc: unknown): ShapeProblem | undefined {
  where.length = 0;
  if (${root}(doc)) return undefined;
  return { path: [...where].reverse(), expected: wanted };
}
`;
  }
}

const HEADER = `// GENERATED by \`npm run schema\` from src/flags/schema.ts. Do not edit.
/**
 * The flags-file schema as plain code: what the worker checks every snapshot's flags against, without
 * valibot in its bundle. Accepts exactly what src/flags/schema.ts accepts (test/flags/shape.test.ts),
 * except that it checks the keys \`__proto__\`, \`constructor\` and \`prototype\` of a map or an object
 * like any other, where valibot skips them. Pure, no I/O.
 */

/** Where the first mismatch is, and what the schema expected there. */
export interface ShapeProblem {
  path: (string | number)[];
  expected: string;
}

/** True when \`x\` fits; otherwise false, with \`wanted\` and \`where\` telling why. */
type Check = (x: unknown) => boolean;

/** The path to the mismatch, innermost key first while unwinding. */
const where: (string | number)[] = [];
let wanted = "";

function no(expected: string): false {
  wanted = expected;
  return false;
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

const text: Check = (x) => typeof x === "string" || no("a string");
const num: Check = (x) => (typeof x === "number" && !Number.isNaN(x)) || no("a number");
const bool: Check = (x) => typeof x === "boolean" || no("true or false");
const nonEmpty: Check = (x) => (x as { length: number }).length !== 0 || no("not empty");
const whole: Check = (x) => Number.isInteger(x) || no("a whole number");
const finite: Check = (x) => Number.isFinite(x) || no("a finite number");
const atLeast =
  (n: number): Check =>
  (x) =>
    (x as number) >= n || no(\`a number >= \${n}\`);
const atMost =
  (n: number): Check =>
  (x) =>
    (x as number) <= n || no(\`a number <= \${n}\`);
const minEntries =
  (n: number): Check =>
  (x) =>
    Object.keys(x as object).length >= n || no(\`at least \${n} entries\`);
const matches =
  (re: RegExp): Check =>
  (x) =>
    re.test(x as string) || no(\`text matching \${re}\`);

function oneOf(options: readonly unknown[]): Check {
  const set = new Set(options);
  return (x) => set.has(x) || no(\`one of \${options.map((o) => JSON.stringify(o)).join(", ")}\`);
}

/** Each check in turn (a schema, then its pipe's actions). */
function all(...checks: Check[]): Check {
  return (x) => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(x)) return false;
    return true;
  };
}

function opt(check: Check): Check {
  return (x) => x === undefined || check(x);
}

function isJson(x: unknown, depth: number): boolean {
  if (x === null || typeof x === "string" || typeof x === "boolean") return true;
  if (typeof x === "number") return Number.isFinite(x);
  if (depth > 64 || typeof x !== "object") return false;
  if (Array.isArray(x)) return x.every((item) => isJson(item, depth + 1));
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(x).every((item) => isJson(item, depth + 1));
}
const jsonValue: Check = (x) => isJson(x, 0) || no("plain JSON");

function list(item: Check): Check {
  return (x) => {
    if (!Array.isArray(x)) return no("a list");
    for (let i = 0; i < x.length; i++) {
      if (!item(x[i])) {
        where.push(i);
        return false;
      }
    }
    return true;
  };
}

function map(key: Check, value: Check): Check {
  return (x) => {
    if (!isMap(x)) return no("a map");
    const keys = Object.keys(x);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (!key(k)) {
        wanted = \`a key that is \${wanted}\`;
        where.push(k);
        return false;
      }
      if (!value(x[k])) {
        where.push(k);
        return false;
      }
    }
    return true;
  };
}

function fields(entries: Record<string, Check>, required: readonly string[]): Check {
  const known = new Map(Object.entries(entries));
  return (x) => {
    if (!isMap(x)) return no("a map of fields");
    const keys = Object.keys(x);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const check = known.get(k);
      if (check === undefined) {
        where.push(k);
        return no("no such field");
      }
      if (!check(x[k])) {
        where.push(k);
        return false;
      }
    }
    for (const name of required) {
      if (!Object.hasOwn(x, name)) {
        where.push(name);
        return no("a required field");
      }
    }
    return true;
  };
}

/** The first option that accepts; when none does, the mismatch of the one that got furthest. */
function anyOf(options: readonly Check[], expects: string): Check {
  return (x) => {
    const depth = where.length;
    let best: { path: (string | number)[]; wanted: string } | undefined;
    for (const option of options) {
      // A check that accepts leaves the path as it found it.
      if (option(x)) return true;
      if (best === undefined || where.length - depth > best.path.length) {
        best = { path: where.slice(depth), wanted };
      }
      if (where.length !== depth) where.length = depth;
    }
    if (best !== undefined && best.path.length > 0) {
      where.push(...best.path);
      wanted = best.wanted;
      return false;
    }
    return no(expects);
  };
}
`;

/** The TypeScript source of src/flags/shape.generated.ts. */
export function generateShapeChecker(): string {
  const gen = new Generator();
  const root = gen.check(s.FlagsDocumentSchema as GenericSchema as unknown as Part);
  return gen.source(root);
}
