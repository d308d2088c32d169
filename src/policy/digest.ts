/**
 * Content digests of what approvals cover. The publisher computes them for a proposal, approvers sign
 * them, and every worker recomputes them from the snapshot it loads, so both sides must agree byte for
 * byte: canonical JSON (object keys sorted), except split weights, whose written order is the bucketing
 * order and therefore part of the meaning. SHA-256 from `node:crypto` (native in Node and, with the
 * nodejs_compat flag, in workerd), synchronous: a load may digest every flag, and WebCrypto's promise
 * per digest costs more than the hashing. `node:crypto` is imported on first use: imported statically,
 * workerd sets it up in every isolate's start-up (about 10 ms), and only snapshots under a trust
 * policy need digests. No other I/O.
 *
 * - A flag's digest covers everything its answer depends on: its own definition, the digests of the
 *   segments its rules use, and its prerequisites' digests (recursively). Changing a segment or a prerequisite
 *   changes the digests of the flags that use them.
 * - A flag's off digest covers only what it serves when disabled (type, variants, off variant, and
 *   whether front-ends may read it): a
 *   disabled flag serves that and nothing else, which is what lets a kill of an approved flag go
 *   through without new approvals.
 * - A gate's digest covers the gate definition.
 */
import type { FlagDefinition, FlagsDocument, GateDefinition } from "../flags/types";
import * as base64url from "../snapshot/base64url";

const encoder = new TextEncoder();

/**
 * Canonical JSON text: sorted object keys, except the order-bearing split maps (the `split` of a
 * rule, fallthrough or step), written as `o[...]` pairs in their order - a form no JSON value takes, so
 * it cannot collide with one. Inside JSON values (variants, a gate's JSON body) `split` is plain data.
 */
export function canonicalJson(value: unknown): string {
  return write(value, false, false);
}

/** Object keys as JSON strings, memoised: a document repeats the same few dozen names thousands of times. */
const quoted = new Map<string, string>();
function quote(key: string): string {
  let q = quoted.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quoted.size < 4096) quoted.set(key, q);
  }
  return q;
}

function write(value: unknown, ordered: boolean, plain: boolean): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + write(value[i], false, plain);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (!ordered && keys.length > 1) keys.sort();
  let out = ordered ? "o[" : "{";
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += first ? "" : ",";
    first = false;
    if (ordered) out += `${quote(k)},${write(v, false, true)}`;
    else {
      const inner = plain || k === "variants" || k === "json";
      out += `${quote(k)}:${write(v, !plain && k === "split", inner)}`;
    }
  }
  return out + (ordered ? "]" : "}");
}

let createHash: typeof import("node:crypto").createHash | undefined;

/** Imports node:crypto once; `digestSync` needs it. */
export async function loadHasher(): Promise<void> {
  createHash ??= (await import("node:crypto")).createHash;
}

/**
 * base64url of the SHA-256 of the text's UTF-8 bytes (synchronous: thousands per load must be cheap),
 * once `loadHasher()` has resolved.
 */
export function digestSync(text: string): string {
  if (!createHash) throw new Error("digestSync before loadHasher()");
  return createHash("sha256").update(text).digest("base64url");
}

/** The same digest through WebCrypto: native, for large texts (a whole snapshot's JWS). */
export async function digestText(text: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
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
 * Digests of one document, computed on demand and memoised (prerequisites and segments are shared).
 * Flags the document does not have digest as null. Promise-returning: the first digest imports
 * node:crypto (`loadHasher`); the rest of the work is synchronous.
 */
export class DocumentDigests {
  readonly #flags = new Map<string, string | null>();
  readonly #off = new Map<string, string | null>();
  readonly #segments = new Map<string, string>();
  constructor(readonly doc: FlagsDocument) {}

  async flag(key: string): Promise<string | null> {
    await loadHasher();
    return this.flagSync(key);
  }

  async off(key: string): Promise<string | null> {
    await loadHasher();
    return this.offSync(key);
  }

  /** The flag's digest; `loadHasher()` must have resolved. */
  flagSync(key: string): string | null {
    return this.#flag(key, []);
  }

  /**
   * `path`: the prerequisite chain that led here. A flag met again on it is a cycle (compile refuses
   * those before any digest matters); it digests as "cycle" so nothing loops. Without cycles a flag's
   * digest does not depend on the path, so it is memoised by key alone.
   */
  #flag(key: string, path: string[]): string | null {
    const known = this.#flags.get(key);
    if (known !== undefined) return known;
    const flag = Object.hasOwn(this.doc.flags, key) ? this.doc.flags[key] : undefined;
    if (!flag) return null;
    const prerequisites: Record<string, string | null> = {};
    const next = [...path, key];
    for (const p of flag.prerequisites ?? []) {
      prerequisites[p.flag] = next.includes(p.flag) ? "cycle" : this.#flag(p.flag, next);
    }
    const segments: Record<string, string> = {};
    for (const name of segmentsOf(flag)) segments[name] = this.#segment(name);
    const d = digestSync(canonicalJson({ edgeflags: "flag/1", flag, segments, prerequisites }));
    if (!Object.values(prerequisites).includes("cycle")) this.#flags.set(key, d);
    return d;
  }

  /** A segment's digest, once per document however many flags use it (segments can be large). */
  #segment(name: string): string {
    let d = this.#segments.get(name);
    if (d === undefined) {
      const segment =
        this.doc.segments && Object.hasOwn(this.doc.segments, name) ? this.doc.segments[name] : null;
      d = digestSync(canonicalJson({ edgeflags: "segment/1", segment }));
      this.#segments.set(name, d);
    }
    return d;
  }

  /** The flag's off digest; `loadHasher()` must have resolved. */
  offSync(key: string): string | null {
    let d = this.#off.get(key);
    if (d === undefined) {
      const flag = Object.hasOwn(this.doc.flags, key) ? this.doc.flags[key] : undefined;
      d = flag ? digestSync(canonicalJson({ edgeflags: "off/1", ...offPart(flag) })) : null;
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

export async function gateDigest(gate: GateDefinition): Promise<string> {
  await loadHasher();
  return digestSync(canonicalJson({ edgeflags: "gate/1", gate }));
}
