/**
 * A yes-or-don't-know form of a valibot schema, for the success path: the worker validates every
 * snapshot it loads and almost all of them are valid, while valibot's run copies the whole document
 * into its output and allocates a dataset per node. Pure, no I/O.
 *
 * The acceptor is built from the schema objects themselves, so it cannot drift from them. It may only
 * ever be stricter than the schema: a schema part it does not know, a default, an odd key
 * (`__proto__`), a list where a map is expected all answer "no", and the caller then runs valibot,
 * which decides and words the problems.
 */
import type * as v from "valibot";

/** True only when the schema would accept `value` with no issue. */
export type Accept = (value: unknown) => boolean;

/** The parts of valibot's schema and action objects the acceptor reads. */
interface Part {
  kind: string;
  type: string;
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
  check?: (input: unknown) => boolean;
  requirement?: unknown;
}

const NO: Accept = () => false;
const built = new WeakMap<object, Accept>();

/** The acceptor of `schema`, built once per schema object. */
export function acceptor(schema: v.GenericSchema): Accept {
  return accept(schema as unknown as Part);
}

function accept(part: Part): Accept {
  let fn = built.get(part);
  if (fn === undefined) {
    fn = build(part);
    built.set(part, fn);
  }
  return fn;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Keys valibot's record skips without checking them; the acceptor leaves them to valibot. */
function isOddKey(key: string): boolean {
  return key === "__proto__" || key === "prototype" || key === "constructor";
}

function build(part: Part): Accept {
  // v.pipe() copies its first schema's fields and adds `pipe`: the schema, then actions.
  if (Array.isArray(part.pipe)) return pipeline(part.pipe);
  if (part.kind !== "schema" || part.default !== undefined || part.fallback !== undefined) return NO;
  switch (part.type) {
    case "string":
      return (value) => typeof value === "string";
    case "number":
      return (value) => typeof value === "number" && !Number.isNaN(value);
    case "boolean":
      return (value) => typeof value === "boolean";
    case "picklist": {
      const options = part.options ?? [];
      return (value) => options.includes(value);
    }
    case "custom": {
      const check = part.check;
      return check ? (value) => check.call(part, value) : NO;
    }
    case "optional": {
      const inner = part.wrapped ? accept(part.wrapped) : NO;
      return (value) => value === undefined || inner(value);
    }
    case "union": {
      const options = (part.options ?? []).map((o) => accept(o as Part));
      return (value) => {
        for (let i = 0; i < options.length; i++) if ((options[i] as Accept)(value)) return true;
        return false;
      };
    }
    case "lazy": {
      const getter = part.getter;
      if (!getter) return NO;
      // The getter picks one of a few fixed schemas; remember the last one's acceptor.
      let last: Part | undefined;
      let lastAccept: Accept = NO;
      return (value) => {
        const chosen = getter(value);
        if (chosen !== last) {
          last = chosen;
          lastAccept = accept(chosen);
        }
        return lastAccept(value);
      };
    }
    case "array": {
      const item = part.item ? accept(part.item) : NO;
      return (value) => {
        if (!Array.isArray(value)) return false;
        for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
        return true;
      };
    }
    case "record":
      return record(part);
    case "strict_object":
      return strictObject(part);
    default:
      return NO;
  }
}

function pipeline(items: Part[]): Accept {
  const steps: Accept[] = [];
  for (const item of items) {
    if (item.kind === "metadata") continue;
    steps.push(item.kind === "schema" ? accept(item) : action(item));
  }
  return (value) => {
    for (let i = 0; i < steps.length; i++) if (!(steps[i] as Accept)(value)) return false;
    return true;
  };
}

/** Validation actions; each runs after its schema accepted the value's type. */
function action(item: Part): Accept {
  if (item.kind !== "validation") return NO;
  const requirement = item.requirement;
  switch (item.type) {
    case "regex": {
      // A global or sticky regex keeps state between calls; leave it to valibot.
      if (!(requirement instanceof RegExp) || requirement.global || requirement.sticky) return NO;
      return (value) => requirement.test(value as string);
    }
    case "non_empty":
      return (value) => (value as { length: number }).length !== 0;
    case "integer":
      return (value) => Number.isInteger(value);
    case "finite":
      return (value) => Number.isFinite(value);
    case "min_value":
      return (value) => (value as number) >= (requirement as number);
    case "max_value":
      return (value) => (value as number) <= (requirement as number);
    case "min_entries":
      return (value) => Object.keys(value as object).length >= (requirement as number);
    default:
      return NO;
  }
}

/** valibot's record also takes a list; the schema's maps refuse one, and so does the acceptor. */
function record(part: Part): Accept {
  const key = part.key ? accept(part.key) : NO;
  const value = part.value ? accept(part.value) : NO;
  return (input) => {
    if (!isPlainMap(input)) return false;
    for (const k in input) {
      if (!Object.hasOwn(input, k) || isOddKey(k) || !key(k) || !value(input[k])) return false;
    }
    return true;
  };
}

function strictObject(part: Part): Accept {
  const entries = part.entries ?? {};
  const checks = new Map<string, Accept>();
  let required = 0;
  for (const name of Object.keys(entries)) {
    const entry = entries[name] as Part;
    // Only plain `v.optional` without a default is known to let a field be left out.
    if (entry.default !== undefined || entry.fallback !== undefined) return NO;
    checks.set(name, accept(entry));
    if (entry.type !== "optional") required++;
  }
  // Walks the input's keys rather than the schema's, which are many more than a node usually has.
  // An inherited field the schema names is not seen here and counts as missing: a "no".
  return (input) => {
    if (!isPlainMap(input)) return false;
    let present = 0;
    for (const k in input) {
      const check = Object.hasOwn(input, k) ? checks.get(k) : undefined;
      if (check === undefined || !check(input[k])) return false;
      if (entries[k]?.type !== "optional") present++;
    }
    return present === required;
  };
}
