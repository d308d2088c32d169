/**
 * Attribute references, resolved once at compile into (source, name) so that lookups at evaluation
 * time do no string parsing. The source split is the anti-spoofing guarantee: `geo.*` only reads edge
 * geo, `identity.*` only verified claims, everything else only client attributes. Pure, no I/O.
 */
import { GEO_FIELDS } from "../flags/defaults";
import { CompileError } from "./errors";
import type { EvaluationContext } from "./types";

export const SRC_KEY = 0;
export const SRC_GEO = 1;
export const SRC_IDENTITY = 2;
export const SRC_ATTRIBUTES = 3;

/** A resolved attribute reference. */
export interface AttributeSlot {
  readonly src: number;
  readonly name: string;
  /**
   * The name is also an Object.prototype member ("constructor", "__proto__"...), so a plain property
   * read could find an inherited value: only these pay for an own-property check.
   */
  readonly guarded: boolean;
}

const GEO_FIELD_NAMES: ReadonlySet<string> = new Set(GEO_FIELDS);

/**
 * Resolves `key`, `geo.<field>`, `identity.<claim>` or a client attribute name. Refuses (code
 * INVALID_ATTRIBUTE, at `path`) a reference that is not a non-empty string or that names a namespace
 * without a valid member: a bare `geo` or `identity` would otherwise read a client attribute of that
 * name, letting a request stand in for edge geo or a verified claim. The validator refuses all of
 * these too; this keeps the engine safe on an unvalidated document.
 */
export function resolveAttribute(ref: string, path: string): AttributeSlot {
  if (typeof ref !== "string" || ref === "") {
    throw new CompileError("INVALID_ATTRIBUTE", path, "attribute must be a non-empty string");
  }
  if (ref === "key") return { src: SRC_KEY, name: "", guarded: false };
  if (ref.startsWith("geo.")) {
    const field = ref.slice(4);
    if (!GEO_FIELD_NAMES.has(field)) {
      throw new CompileError("INVALID_ATTRIBUTE", path, `unknown geo field ${JSON.stringify(field)}`);
    }
    return slot(SRC_GEO, field);
  }
  if (ref.startsWith("identity.")) {
    if (ref.length === 9) throw new CompileError("INVALID_ATTRIBUTE", path, `"identity." needs a claim name`);
    return slot(SRC_IDENTITY, ref.slice(9));
  }
  if (ref === "geo" || ref === "identity") {
    throw new CompileError("INVALID_ATTRIBUTE", path, `"${ref}" needs a field, like "${ref}.<name>"`);
  }
  return slot(SRC_ATTRIBUTES, ref);
}

function slot(src: number, name: string): AttributeSlot {
  return { src, name, guarded: name in Object.prototype };
}

/** The attribute's value in the context; null counts as missing and reads as undefined. */
export function readAttribute(ctx: EvaluationContext, src: number, name: string, guarded: boolean): unknown {
  let bag: Readonly<Record<string, unknown>> | undefined;
  switch (src) {
    case SRC_KEY:
      return ctx.targetingKey ?? undefined;
    case SRC_GEO:
      bag = ctx.geo as Readonly<Record<string, unknown>> | undefined;
      break;
    case SRC_IDENTITY:
      bag = ctx.identity;
      break;
    default:
      bag = ctx.attributes;
  }
  if (bag == null) return undefined;
  if (guarded && !Object.hasOwn(bag, name)) return undefined;
  return bag[name] ?? undefined;
}
