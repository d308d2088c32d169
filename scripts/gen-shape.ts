/**
 * Generates src/flags/shape.generated.ts: the flags-file schema (src/flags/schema.ts) compiled to
 * plain code, so the worker can check every snapshot's shape without valibot or the schema objects in
 * its bundle. `npm run schema` writes it; a test checks it is current, and property tests check that
 * it accepts exactly what the valibot schema accepts.
 *
 * Each schema node becomes a check `(x) => boolean` built at load time from the combinators in
 * src/flags/shape-checks.ts, so the generated file holds only the schema's structure. Identical nodes
 * (the schema has many `text("...")` strings) share one check.
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
      // A bare name (a leaf check such as `text`, or a lazy schema's chosen shape) needs no alias.
      name = /^[A-Za-z]\w*$/.test(expr) ? expr : this.byExpr.get(expr);
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
 * like any other, where valibot skips them. Pure, no I/O.
 */
import {
  all,
  anyOf,
  atLeast,
  atMost,
  bool,
  type Check,
  fields,
  finite,
  jsonValue,
  list,
  map,
  matches,
  minEntries,
  nonEmpty,
  num,
  oneOf,
  opt,
  runCheck,
  type ShapeProblem,
  text,
  whole,
} from "./shape-checks";

export type { ShapeProblem };
`;

/** The TypeScript source of src/flags/shape.generated.ts. */
export function generateShapeChecker(): string {
  const gen = new Generator();
  const root = gen.check(s.FlagsDocumentSchema as GenericSchema as unknown as Part);
  return gen.source(root);
}
