/**
 * Content digests of what approvals cover. The publisher computes them for a proposal, approvers sign
 * them, and every worker recomputes them from the snapshot it loads, so both sides must agree byte for
 * byte: canonical JSON (object keys sorted), except split weights, whose written order is the bucketing
 * order and therefore part of the meaning. WebCrypto SHA-256 only; no other I/O.
 *
 * - A flag's digest covers everything its answer depends on: its own definition, the segments its
 *   rules use, and its prerequisites' digests (recursively). Changing a segment or a prerequisite
 *   changes the digests of the flags that use them.
 * - A flag's off digest covers only what it serves when disabled (type, variants, off variant, and
 *   whether front-ends may read it): a
 *   disabled flag serves that and nothing else, which is what lets a kill of an approved flag go
 *   through without new approvals.
 * - A gate's digest covers the gate definition.
 */
import type { FlagDefinition, FlagsDocument, GateDefinition } from "../flags/types";

const encoder = new TextEncoder();

/** Canonical JSON text: sorted object keys, except the order-bearing `split` maps. */
export function canonicalJson(value: unknown): string {
  return write(value, false);
}

function write(value: unknown, ordered: boolean): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => write(v, false)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (ordered) {
    // Split weights: written order is meaning. A list of pairs keeps it and cannot be confused with
    // a sorted object.
    return `[${keys.map((k) => `[${JSON.stringify(k)},${write(obj[k], false)}]`).join(",")}]`;
  }
  keys.sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k], k === "split")}`).join(",")}}`;
}

/** `sha256:` is implied: base64url of the SHA-256 of the text. */
export async function digestText(text: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let bin = "";
  for (const b of hash) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Segments a flag's rules name. */
function segmentsOf(flag: FlagDefinition): string[] {
  const names = new Set<string>();
  for (const rule of flag.rules ?? []) {
    for (const c of rule.when ?? [])
      if ("segment" in c && typeof c.segment === "string") names.add(c.segment);
  }
  return [...names].sort();
}

/**
 * Digests of one document, computed on demand and memoised (prerequisites are shared). Flags the
 * document does not have digest as null.
 */
export class DocumentDigests {
  readonly #flags = new Map<string, Promise<string | null>>();
  readonly #off = new Map<string, Promise<string | null>>();
  constructor(readonly doc: FlagsDocument) {}

  flag(key: string): Promise<string | null> {
    let d = this.#flags.get(key);
    if (!d) {
      d = this.#flag(key, new Set());
      this.#flags.set(key, d);
    }
    return d;
  }

  async #flag(key: string, seen: Set<string>): Promise<string | null> {
    const flag = Object.hasOwn(this.doc.flags, key) ? this.doc.flags[key] : undefined;
    if (!flag) return null;
    // A cycle is refused by compile before any digest matters; cut it here so nothing loops.
    if (seen.has(key)) return "cycle";
    seen.add(key);
    const prerequisites: Record<string, string | null> = {};
    for (const p of flag.prerequisites ?? []) {
      const cached = this.#flags.get(p.flag);
      prerequisites[p.flag] = cached ? await cached : await this.#flag(p.flag, seen);
    }
    const segments: Record<string, unknown> = {};
    for (const name of segmentsOf(flag)) segments[name] = this.doc.segments?.[name] ?? null;
    return digestText(canonicalJson({ edgeflags: "flag/1", flag, segments, prerequisites }));
  }

  off(key: string): Promise<string | null> {
    let d = this.#off.get(key);
    if (!d) {
      const flag = Object.hasOwn(this.doc.flags, key) ? this.doc.flags[key] : undefined;
      d = flag ? digestText(canonicalJson({ edgeflags: "off/1", ...offPart(flag) })) : Promise.resolve(null);
      this.#off.set(key, d);
    }
    return d;
  }
}

/** What a disabled flag serves, and to whom, depends on these fields only. */
function offPart(flag: FlagDefinition): Record<string, unknown> {
  return {
    type: flag.type,
    variants: flag.variants,
    offVariant: flag.offVariant,
    clientVisible: flag.clientVisible,
  };
}

/** A gate's id as the policy names it: its `id`, else `gate-<index>`. */
export function gateId(gate: GateDefinition, index: number): string {
  return gate.id ?? `gate-${index}`;
}

export function gateDigest(gate: GateDefinition): Promise<string> {
  return digestText(canonicalJson({ edgeflags: "gate/1", gate }));
}
