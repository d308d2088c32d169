/**
 * First answers: what a fresh isolate serves before its snapshot is compiled.
 *
 * compile() builds, for every flag, the rule programs, value indexes and ready-made results that make
 * each later evaluation a few array reads. A fresh isolate runs all of that on cold code, where it
 * costs several times more than reading each definition once (1,000 flags in a fresh process:
 * compile and evaluate 46-64 ms, reading the definitions 5-14 ms). So a cold load asks `prepareFirst`
 * whether this reader answers the document exactly as the engine does, and, if so, the first bulk
 * request is answered by `firstAnswers` while compile waits until that answer has gone
 * (src/snapshot/verify.ts, src/http/evaluation.ts).
 *
 * What it takes: flags whose variants are scalars, with the kill switch, individual targets, rules of
 * in / not_in / equals / not_equals tests and segments of listed keys, serving a variant or a split
 * without progressive steps; segments with listed keys only; no gates. It leaves everything else
 * (schedules, prerequisites, geo lists, other operators, segment rules, progressive splits, JSON
 * variants) to compile, and it refuses - leaving compile to report - anything compile would refuse,
 * for every flag and segment of the document, not only those an answer reads: a document it takes
 * always compiles. Property tests hold both halves (test/eval/first.test.ts).
 *
 * Every decision uses the engine's own helpers and result factories, so the answers are the same
 * frozen shapes evaluateAll returns. Pure, no I/O.
 */
import {
  flagTypeOf,
  isEnabled,
  offVariantOf,
  ruleIdOf,
  splitByOf,
  splitSaltOf,
  variantsOf,
} from "../flags/defaults";
import type {
  FlagDefinition,
  FlagsDocument,
  FlagType,
  JsonValue,
  ProgressiveSplit,
  Serve,
} from "../flags/types";
import { type AttributeSlot, readAttribute, resolveAttribute, SRC_KEY } from "./attributes";
import { bucketOf, utf8Binary } from "./bucket";
import { murmur3 } from "./murmur";
import { isScalar } from "./operators";
import { failed, RULE_FALLTHROUGH, RULE_TARGET, served } from "./reasons";
import type { EvaluationContext, EvaluationResult, Reason } from "./types";

/** A document `prepareFirst` took: its flags in key order, each with what the reader needs. */
export interface FirstReader {
  readonly doc: FlagsDocument;
  readonly keys: readonly string[];
  readonly types: readonly FlagType[];
  /** Every attribute reference the document's conditions and splits read, resolved once. */
  readonly slots: ReadonlyMap<string, AttributeSlot>;
  /** Per segment: its listed keys, made Sets at the first answer that reads them. */
  readonly segments: Map<
    string,
    { included: ReadonlySet<string> | null; excluded: ReadonlySet<string> | null }
  >;
}

/** The operators the reader decides: in-list tests (equals and not_equals are one-value lists). */
const LIST_OPS: Readonly<Record<string, boolean>> = {
  in: false,
  equals: false,
  not_in: true,
  not_equals: true,
};

/**
 * The reader for `doc`, or undefined when the document has anything the reader leaves to compile or
 * anything compile would refuse. Walks every flag and segment once; allocates only the key list.
 */
export function prepareFirst(doc: FlagsDocument): FirstReader | undefined {
  if (doc.gates !== undefined && doc.gates.length > 0) return undefined;
  const segments = doc.segments ?? {};
  for (const name in segments) {
    if (!Object.hasOwn(segments, name)) continue;
    const rules = segments[name]!.rules;
    if (rules !== undefined && rules.length > 0) return undefined;
  }
  const keys = Object.keys(doc.flags).sort();
  const types: FlagType[] = new Array(keys.length);
  const slots = new Map<string, AttributeSlot>();
  for (let i = 0; i < keys.length; i++) {
    const type = takes(doc, doc.flags[keys[i]!]!, slots);
    if (type === undefined) return undefined;
    types[i] = type;
  }
  return { doc, keys, types, slots, segments: new Map() };
}

/** The flag's type when the reader takes the flag, else undefined. */
function takes(
  doc: FlagsDocument,
  def: FlagDefinition,
  slots: Map<string, AttributeSlot>,
): FlagType | undefined {
  if (def.schedule !== undefined || def.prerequisites !== undefined || def.geo !== undefined)
    return undefined;
  const type = flagTypeOf(def);
  if (type === undefined || type === "json") return undefined;
  const variants = variantsOf(def);
  const has = (variant: string) => Object.hasOwn(variants, variant);
  if (!isEnabled(def) && !has(offVariantOf(def))) return undefined;
  const targets = def.targets;
  if (targets !== undefined) {
    for (const variant in targets) if (Object.hasOwn(targets, variant) && !has(variant)) return undefined;
  }
  const rules = def.rules;
  if (rules !== undefined) {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      for (let j = 0; j < rule.when.length; j++) {
        const c = rule.when[j]!;
        if ("segment" in c) {
          if (doc.segments === undefined || !Object.hasOwn(doc.segments, c.segment)) return undefined;
        } else {
          if (!Object.hasOwn(LIST_OPS, c.op) || c.values === undefined || c.values.length === 0)
            return undefined;
          if (!resolves(c.attribute, slots)) return undefined;
        }
      }
      if (!servable(rule.serve, has, slots)) return undefined;
    }
  }
  return servable(def.fallthrough, has, slots) ? type : undefined;
}

/** Whether compile would accept this serve, and the reader answers it (no progressive steps). */
function servable(
  serve: Serve | ProgressiveSplit,
  has: (variant: string) => boolean,
  slots: Map<string, AttributeSlot>,
): boolean {
  if (typeof serve === "string") return has(serve);
  const steps = (serve as ProgressiveSplit).steps;
  if (steps !== undefined && steps.length > 0) return false;
  if (!resolves(splitByOf(serve), slots)) return false;
  // As compile's weights(): whole weights, a positive safe total, each variant once and known.
  const table = serve.split;
  let total = 0;
  if (Array.isArray(table)) {
    for (let i = 0; i < table.length; i++) {
      const { variant, weight } = table[i]!;
      if (!Number.isInteger(weight) || !has(variant)) return false;
      if (weight > 0) total += weight;
      for (let j = 0; j < i; j++) if (table[j]!.variant === variant) return false;
    }
  } else {
    // A map names each variant once.
    for (const variant in table) {
      if (!Object.hasOwn(table, variant)) continue;
      const weight = table[variant]!;
      if (!Number.isInteger(weight) || !has(variant)) return false;
      if (weight > 0) total += weight;
    }
  }
  return total > 0 && Number.isSafeInteger(total);
}

/** Whether compile resolves this attribute reference; files its slot in `slots` when it does. */
function resolves(ref: string, slots: Map<string, AttributeSlot>): boolean {
  if (slots.has(ref)) return true;
  try {
    slots.set(ref, resolveAttribute(ref, ""));
    return true;
  } catch {
    return false;
  }
}

/**
 * The results evaluateAll(compile(doc), ctx, now, { clientVisibleOnly }) returns, by reading the
 * definitions once. `now` is not read: no flag the reader takes depends on the time.
 */
export function firstAnswers(
  reader: FirstReader,
  ctx: EvaluationContext,
  clientVisibleOnly: boolean,
): EvaluationResult[] {
  const { doc, keys, types } = reader;
  const out: EvaluationResult[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const def = doc.flags[key]!;
    if (clientVisibleOnly && def.clientVisible !== true) continue;
    out.push(answer(reader, key, def, types[i]!, ctx));
  }
  return out;
}

/** The result evaluate(compile(doc), key, ctx, now) returns; undefined for a key the document lacks. */
export function firstAnswer(
  reader: FirstReader,
  key: string,
  ctx: EvaluationContext,
): EvaluationResult | undefined {
  const flags = reader.doc.flags;
  if (!Object.hasOwn(flags, key)) return undefined;
  const def = flags[key]!;
  return answer(reader, key, def, flagTypeOf(def)!, ctx);
}

/** Whether the document has the flag and this caller may see it (as CompiledFlags.has / isClientVisible). */
export function firstVisible(reader: FirstReader, key: string, serverAccess: boolean): boolean {
  const flags = reader.doc.flags;
  return Object.hasOwn(flags, key) && (serverAccess || flags[key]!.clientVisible === true);
}

function answer(
  reader: FirstReader,
  key: string,
  def: FlagDefinition,
  type: FlagType,
  ctx: EvaluationContext,
): EvaluationResult {
  if (!isEnabled(def)) return result(key, type, def, offVariantOf(def), "DISABLED", undefined);
  const targetingKey = readAttribute(ctx, SRC_KEY, "", false);
  let targeted = false;
  const targets = def.targets;
  if (targets !== undefined) {
    for (const variant in targets) {
      if (!Object.hasOwn(targets, variant)) continue;
      const list = targets[variant]!;
      if (list.length === 0) continue;
      targeted = true;
      if (list.includes(targetingKey as string)) {
        return result(key, type, def, variant, "TARGETING_MATCH", RULE_TARGET);
      }
    }
  }
  const rules = def.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    let all = true;
    for (let j = 0; j < rule.when.length && all; j++) {
      const c = rule.when[j]!;
      if ("segment" in c) {
        all = inSegment(reader, c.segment, ctx) !== (c.negate === true);
      } else {
        const slot = reader.slots.get(c.attribute)!;
        const v = readAttribute(ctx, slot.src, slot.name, slot.guarded);
        const listed = (c.values as readonly unknown[]).includes(v);
        all = LIST_OPS[c.op] ? isScalar(v) && !listed : listed;
      }
    }
    if (all) return serve(reader, key, type, def, rule.serve, ruleIdOf(rule, i), "TARGETING_MATCH", ctx);
  }
  // As compile: nothing else can vary without targets or rules (the reader takes no schedule,
  // prerequisite or geo list).
  const fixed = !targeted && rules.length === 0 ? "STATIC" : "DEFAULT";
  return serve(reader, key, type, def, def.fallthrough, RULE_FALLTHROUGH, fixed, ctx);
}

/** As the engine's segment test for a segment of listed keys only. */
function inSegment(reader: FirstReader, name: string, ctx: EvaluationContext): boolean {
  let s = reader.segments.get(name);
  if (s === undefined) {
    const def = reader.doc.segments![name]!;
    s = {
      included: def.included !== undefined && def.included.length > 0 ? new Set(def.included) : null,
      excluded: def.excluded !== undefined && def.excluded.length > 0 ? new Set(def.excluded) : null,
    };
    reader.segments.set(name, s);
  }
  const key = ctx.targetingKey;
  if (typeof key !== "string") return false;
  if (s.excluded?.has(key)) return false;
  return s.included?.has(key) === true;
}

function serve(
  reader: FirstReader,
  key: string,
  type: FlagType,
  def: FlagDefinition,
  what: Serve | ProgressiveSplit,
  ruleId: string,
  fixedReason: Reason,
  ctx: EvaluationContext,
): EvaluationResult {
  if (typeof what === "string") return result(key, type, def, what, fixedReason, ruleId);
  // The bucket key: the targeting key (empty counts as missing), or a scalar attribute's text.
  const by = splitByOf(what);
  const slot = reader.slots.get(by)!;
  const raw = readAttribute(ctx, slot.src, slot.name, slot.guarded);
  const byKey = slot.src === SRC_KEY;
  let bucketKey: string | undefined;
  if (byKey) bucketKey = typeof raw === "string" && raw !== "" ? raw : undefined;
  else if (isScalar(raw) && String(raw) !== "") bucketKey = String(raw);
  if (bucketKey === undefined) {
    return failed(
      key,
      type,
      byKey ? "TARGETING_KEY_MISSING" : "INVALID_CONTEXT",
      byKey ? "the split needs a targeting key" : `the split needs attribute "${by}"`,
      ruleId,
    );
  }
  // DESIGN.md's formula, as the engine computes it: murmur3 of the salt's then the key's UTF-8, its
  // bucket in the total weight, the first variant whose running sum (negative weights as 0) exceeds it.
  // Read straight from the table (written order), without building the entries on cold code.
  const table = what.split;
  const list = Array.isArray(table) ? table : undefined;
  const names = list === undefined ? Object.keys(table) : undefined;
  const n = list !== undefined ? list.length : names!.length;
  const weightAt = (i: number) =>
    list !== undefined ? list[i]!.weight : (table as Record<string, number>)[names![i]!]!;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(i);
    if (w > 0) total += w;
  }
  const bucket = bucketOf(murmur3(utf8Binary(splitSaltOf(what, key)) + utf8Binary(bucketKey)), total);
  let sum = 0;
  let pick = n - 1;
  for (let i = 0; i < n; i++) {
    const w = weightAt(i);
    if (w > 0) sum += w;
    if (sum > bucket) {
      pick = i;
      break;
    }
  }
  const variant = list !== undefined ? list[pick]!.variant : names![pick]!;
  return result(key, type, def, variant, "SPLIT", ruleId);
}

function result(
  key: string,
  type: FlagType,
  def: FlagDefinition,
  variant: string,
  reason: Reason,
  ruleId: string | undefined,
): EvaluationResult {
  return served(key, type, variant, variantsOf(def)[variant] as JsonValue, reason, ruleId);
}
