/**
 * First answers: what a fresh isolate serves before its snapshot is compiled.
 *
 * compile() builds, for every flag, the rule programs, value indexes and ready-made results that make
 * each later evaluation a few array reads. A fresh isolate runs all of that on cold code, where it
 * costs several times more than reading each definition once (1,000 flags in a fresh process:
 * compile and evaluate 32-44 ms, reading the definitions 8-19 ms). So a cold load has `prepareFirst`
 * check the document, and the first answers come from `firstAnswers` / `firstAnswer` while the
 * compile waits until they have gone (src/snapshot/verify.ts, src/http/evaluation.ts).
 *
 * What it reads: every step of the evaluation order (kill switch, schedule, prerequisites, geo lists,
 * targets, rules with any operator and segments, a variant or a split to serve), variants of any type.
 * (Gates are the gateway's, which compiles at its first gated request.) It refuses, leaving compile to
 * report, anything compile would refuse, for every flag and segment of the document and not only
 * those an answer reads: a document it takes always compiles, and it takes every document compile
 * accepts. Property tests hold both halves and the answers (test/eval/first.test.ts).
 *
 * Every decision uses the engine's own helpers (attribute resolution, compileTest / testValue,
 * schedules, geo matching, murmur and buckets) and result factories, so the answers are the frozen
 * shapes evaluate / evaluateAll return. Pure, no I/O; `now` is an argument.
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
  AttributeCondition,
  FlagDefinition,
  FlagsDocument,
  FlagType,
  JsonValue,
  ProgressiveSplit,
  Serve,
  SplitWeights,
} from "../flags/types";
import { type AttributeSlot, readAttribute, resolveAttribute, SRC_KEY } from "./attributes";
import { bucketKeyOf, bucketOf, utf8Binary } from "./bucket";
import { frozenVariants, geoMatcher } from "./compile";
import type { CompiledGeo } from "./compiled";
import { geoDecides } from "./evaluate";
import { murmur3 } from "./murmur";
import { type CompiledTest, compileTest, isScalar, testValue } from "./operators";
import {
  PREREQUISITE_PREFIX,
  RULE_FALLTHROUGH,
  RULE_GEO,
  RULE_SCHEDULE,
  RULE_TARGET,
  served,
  splitKeyMissing,
} from "./reasons";
import {
  type CompiledSchedule,
  compileSchedule,
  parseInstant,
  scheduleActive,
  type ZoneClock,
} from "./schedule";
import type { EvaluationContext, EvaluationResult, Reason } from "./types";

/** A document `prepareFirst` took, with what its checks already worked out. */
export interface FirstReader {
  readonly doc: FlagsDocument;
  /** Flag keys in key order (as evaluateAll reports them). */
  readonly keys: readonly string[];
  /** Each flag's type, as its checks found it. */
  readonly types: ReadonlyMap<string, FlagType>;
  /** Attribute conditions other than in-list tests (of flags and segments), as compile's tests: by object. */
  readonly tests: ReadonlyMap<AttributeCondition, CompiledTest>;
  /** Every attribute an in-list test or a split reads, resolved. */
  readonly slots: ReadonlyMap<string, AttributeSlot>;
  readonly schedules: ReadonlyMap<string, CompiledSchedule>;
  /** Geo lists as compile matches them (the `result` field is not used). */
  readonly geo: ReadonlyMap<string, CompiledGeo>;
  /** Whether any flag has prerequisites (answers are then remembered per call). */
  prerequisites: boolean;
  /** Progressive splits' steps, sorted by time as compile sorts them. */
  readonly steps: ReadonlyMap<ProgressiveSplit, readonly TimedStep[]>;
  /** JSON flags' variants as compile keeps them (frozen copies), made at the first answer serving one. */
  readonly json: Map<string, Readonly<Record<string, JsonValue>>>;
  /** Per segment: its listed keys, made Sets at the first answer that reads them. */
  readonly segments: Map<
    string,
    { included: ReadonlySet<string> | null; excluded: ReadonlySet<string> | null }
  >;
}

interface TimedStep {
  readonly at: number;
  readonly split: SplitWeights;
}

/** The in-list operators (equals and not_equals are one-value lists): whether each is negated. */
const LIST_OPS: Readonly<Record<string, boolean>> = Object.assign(Object.create(null), {
  in: false,
  equals: false,
  not_in: true,
  not_equals: true,
});

/** Thrown inside prepareFirst: compile would refuse the document (and reports why). */
const LEAVE = new Error("refused by compile");

/**
 * The reader for `doc`, or undefined when compile would refuse it (compile then says why). Walks
 * every flag and segment once.
 */
export function prepareFirst(doc: FlagsDocument): FirstReader | undefined {
  const keys = Object.keys(doc.flags).sort();
  const reader: FirstReader = {
    doc,
    keys,
    types: new Map(),
    tests: new Map(),
    slots: new Map(),
    schedules: new Map(),
    geo: new Map(),
    prerequisites: false,
    steps: new Map(),
    json: new Map(),
    segments: new Map(),
  };
  try {
    const segments = doc.segments ?? {};
    for (const name in segments) {
      if (!Object.hasOwn(segments, name)) continue;
      const rules = segments[name]!.rules;
      if (rules === undefined) continue;
      for (let i = 0; i < rules.length; i++) {
        const when = rules[i]!.when;
        for (let j = 0; j < when.length; j++) test(reader, when[j]!);
      }
    }
    const clocks = new Map<string, ZoneClock>();
    const types = reader.types as Map<string, FlagType>;
    for (let i = 0; i < keys.length; i++) types.set(keys[i]!, take(reader, keys[i]!, clocks));
    if (reader.prerequisites) acyclic(doc, keys);
  } catch (err) {
    if (err === LEAVE) return undefined;
    throw err;
  }
  return reader;
}

/** The flag has this variant, as compile requires (else LEAVE). */
function need(variants: Readonly<Record<string, JsonValue>>, variant: string): void {
  if (!Object.hasOwn(variants, variant)) throw LEAVE;
}

/**
 * Checks one flag as compile would (throwing LEAVE), filing what answering it needs; its type.
 * Indexed loops and no closures: this runs once per flag on a fresh isolate's cold code, where each
 * for-of iterator and closure is an allocation (and the next scavenge copies what is still alive).
 */
function take(reader: FirstReader, key: string, clocks: Map<string, ZoneClock>): FlagType {
  const doc = reader.doc;
  const def = doc.flags[key]!;
  const type = flagTypeOf(def);
  if (type === undefined) throw LEAVE;
  const variants = variantsOf(def);
  const off = offVariantOf(def);
  if (!isEnabled(def)) need(variants, off);
  if (def.schedule !== undefined) {
    need(variants, off);
    (reader.schedules as Map<string, CompiledSchedule>).set(
      key,
      attempt(() => compileSchedule(def.schedule!, "", clocks)),
    );
  }
  const prerequisites = def.prerequisites;
  if (prerequisites !== undefined && prerequisites.length > 0) {
    reader.prerequisites = true;
    need(variants, off);
    for (let i = 0; i < prerequisites.length; i++) {
      const p = prerequisites[i]!;
      if (!Object.hasOwn(doc.flags, p.flag)) throw LEAVE;
      const theirs = variantsOf(doc.flags[p.flag]!);
      for (let j = 0; j < p.variants.length; j++) need(theirs, p.variants[j]!);
    }
  }
  const geo = def.geo;
  if (geo !== undefined && (geo.allow !== undefined || geo.block !== undefined)) {
    need(variants, geo.serve ?? off);
    (reader.geo as Map<string, CompiledGeo>).set(key, {
      allow: geo.allow === undefined ? null : geoMatcher(geo.allow),
      block: geo.block === undefined ? null : geoMatcher(geo.block),
      result: null as never,
    });
  }
  const targets = def.targets;
  if (targets !== undefined)
    for (const variant in targets) if (Object.hasOwn(targets, variant)) need(variants, variant);
  const rules = def.rules;
  if (rules !== undefined) {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const when = rule.when;
      for (let j = 0; j < when.length; j++) {
        const c = when[j]!;
        if ("segment" in c) {
          if (doc.segments === undefined || !Object.hasOwn(doc.segments, c.segment)) throw LEAVE;
        } else {
          test(reader, c);
        }
      }
      serve(reader, rule.serve, variants);
    }
  }
  serve(reader, def.fallthrough, variants);
  return type;
}

/**
 * Checks an attribute condition as compile does (throwing LEAVE where compile would throw). In-list
 * tests, by far the most common, need only their attribute's slot (shared by attribute name); any
 * other operator keeps compile's own test for it (its regexes, bounds and versions).
 */
function test(reader: FirstReader, c: AttributeCondition): void {
  if (Object.hasOwn(LIST_OPS, c.op)) {
    if (c.values === undefined || c.values.length === 0) throw LEAVE;
    slotOf(reader, c.attribute);
    return;
  }
  (reader.tests as Map<AttributeCondition, CompiledTest>).set(
    c,
    attempt(() => compileTest(c, "", 0, 0)),
  );
}

/** The attribute's slot, resolved once per name (throwing LEAVE where compile would throw). */
function slotOf(reader: FirstReader, ref: string): AttributeSlot {
  let slot = reader.slots.get(ref);
  if (slot === undefined) {
    slot = attempt(() => resolveAttribute(ref, ""));
    (reader.slots as Map<string, AttributeSlot>).set(ref, slot);
  }
  return slot;
}

/** As compile's serve(): a known variant, or a split (and its progressive steps) it accepts. */
function serve(
  reader: FirstReader,
  what: Serve | ProgressiveSplit,
  variants: Readonly<Record<string, JsonValue>>,
): void {
  if (typeof what === "string") {
    need(variants, what);
    return;
  }
  const by = splitByOf(what);
  slotOf(reader, by);
  weights(what.split, variants);
  // Progressive steps, as compile orders them: by time, the written order among equal times.
  const steps = (what as ProgressiveSplit).steps;
  if (steps !== undefined && steps.length > 0) {
    const timed = steps.map((step) => {
      weights(step.split, variants);
      return { at: attempt(() => parseInstant(step.at, "")), split: step.split };
    });
    (reader.steps as Map<ProgressiveSplit, TimedStep[]>).set(
      what as ProgressiveSplit,
      timed.sort((x, y) => x.at - y.at),
    );
  }
}

/** As compile's weights(): whole weights, a positive safe total, each variant once and known. */
function weights(table: SplitWeights, variants: Readonly<Record<string, JsonValue>>): void {
  let total = 0;
  if (Array.isArray(table)) {
    for (let i = 0; i < table.length; i++) {
      const { variant, weight } = table[i]!;
      if (!Number.isInteger(weight)) throw LEAVE;
      need(variants, variant);
      if (weight > 0) total += weight;
      for (let j = 0; j < i; j++) if (table[j]!.variant === variant) throw LEAVE;
    }
  } else {
    // A map names each variant once.
    for (const variant in table) {
      if (!Object.hasOwn(table, variant)) continue;
      const weight = table[variant]!;
      if (!Number.isInteger(weight)) throw LEAVE;
      need(variants, variant);
      if (weight > 0) total += weight;
    }
  }
  if (!(total > 0) || !Number.isSafeInteger(total)) throw LEAVE;
}

/** No prerequisite cycle (compile's PREREQUISITE_CYCLE). Prerequisites are known to exist. */
function acyclic(doc: FlagsDocument, keys: readonly string[]): void {
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  const visit = (key: string): void => {
    const s = state.get(key);
    if (s === 2) return;
    if (s === 1) throw LEAVE;
    state.set(key, 1);
    for (const p of doc.flags[key]!.prerequisites ?? []) visit(p.flag);
    state.set(key, 2);
  };
  for (const key of keys) visit(key);
}

function attempt<T>(f: () => T): T {
  try {
    return f();
  } catch {
    throw LEAVE;
  }
}

/**
 * One call's reading: the reader, the context and the moment, and (when any flag has prerequisites)
 * the answers so far.
 */
interface Walk {
  readonly reader: FirstReader;
  readonly ctx: EvaluationContext;
  readonly now: number;
  /** Each flag answered once per call (a prerequisite reached twice, too); only with prerequisites. */
  readonly done: Map<string, EvaluationResult> | undefined;
  /** The last bucket key a split read, and its UTF-8 binary string. */
  key: string | undefined;
  keyBinary: string;
}

function walk(reader: FirstReader, ctx: EvaluationContext, now: number): Walk {
  return {
    reader,
    ctx,
    now,
    done: reader.prerequisites ? new Map() : undefined,
    key: undefined,
    keyBinary: "",
  };
}

/**
 * The results evaluateAll(compile(doc), ctx, now, { clientVisibleOnly }) returns, by reading the
 * definitions once.
 */
export function firstAnswers(
  reader: FirstReader,
  ctx: EvaluationContext,
  now: number,
  clientVisibleOnly: boolean,
): EvaluationResult[] {
  const w = walk(reader, ctx, now);
  const flags = reader.doc.flags;
  const out: EvaluationResult[] = [];
  const keys = reader.keys;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (clientVisibleOnly && flags[key]!.clientVisible !== true) continue;
    out.push(answerOf(w, key));
  }
  return out;
}

/** The result evaluate(compile(doc), key, ctx, now) returns; undefined for a key the document lacks. */
export function firstAnswer(
  reader: FirstReader,
  key: string,
  ctx: EvaluationContext,
  now: number,
): EvaluationResult | undefined {
  return Object.hasOwn(reader.doc.flags, key) ? answerOf(walk(reader, ctx, now), key) : undefined;
}

/** Whether the document has the flag and this caller may see it (as CompiledFlags.has / isClientVisible). */
export function firstVisible(reader: FirstReader, key: string, serverAccess: boolean): boolean {
  const flags = reader.doc.flags;
  return Object.hasOwn(flags, key) && (serverAccess || flags[key]!.clientVisible === true);
}

/** One flag's answer, remembered for the call when prerequisites may read it again. */
function answerOf(w: Walk, key: string): EvaluationResult {
  if (w.done === undefined) return answer(w, key);
  let r = w.done.get(key);
  if (r === undefined) {
    r = answer(w, key);
    w.done.set(key, r);
  }
  return r;
}

function answer(w: Walk, key: string): EvaluationResult {
  const { reader, ctx, now } = w;
  const def = reader.doc.flags[key]!;
  const type = reader.types.get(key)!;
  const off = offVariantOf(def);
  if (!isEnabled(def)) return result(reader, key, type, def, off, "DISABLED", undefined);
  const schedule = reader.schedules.size === 0 ? undefined : reader.schedules.get(key);
  if (schedule !== undefined && !scheduleActive(schedule, now)) {
    return result(reader, key, type, def, off, "DISABLED", RULE_SCHEDULE);
  }
  const prerequisites = def.prerequisites;
  const gated = prerequisites !== undefined && prerequisites.length > 0;
  if (gated) {
    for (const p of prerequisites!) {
      const variant = answerOf(w, p.flag).variant;
      if (variant === undefined || !p.variants.includes(variant)) {
        return result(reader, key, type, def, off, "TARGETING_MATCH", PREREQUISITE_PREFIX + p.flag);
      }
    }
  }
  const geo = reader.geo.size === 0 ? undefined : reader.geo.get(key);
  if (geo !== undefined && geoDecides(geo, ctx.geo)) {
    return result(reader, key, type, def, def.geo!.serve ?? off, "TARGETING_MATCH", RULE_GEO);
  }
  const targetingKey = readAttribute(ctx, SRC_KEY, "", false);
  let targeted = false;
  const targets = def.targets;
  if (targets !== undefined) {
    for (const variant in targets) {
      if (!Object.hasOwn(targets, variant)) continue;
      const list = targets[variant]!;
      if (list.length === 0) continue;
      targeted = true;
      if (list.includes(targetingKey as string))
        return result(reader, key, type, def, variant, "TARGETING_MATCH", RULE_TARGET);
    }
  }
  const rules = def.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    let all = true;
    for (let j = 0; j < rule.when.length && all; j++) {
      const c = rule.when[j]!;
      all =
        "segment" in c ? inSegment(reader, c.segment, ctx) !== (c.negate === true) : holds(reader, c, ctx);
    }
    if (all) return serveOf(w, key, type, def, rule.serve, ruleIdOf(rule, i), "TARGETING_MATCH");
  }
  // As compile: nothing can vary without a schedule, prerequisite, geo list, target or rule.
  const fixed =
    schedule === undefined && !gated && geo === undefined && !targeted && rules.length === 0
      ? "STATIC"
      : "DEFAULT";
  return serveOf(w, key, type, def, def.fallthrough, RULE_FALLTHROUGH, fixed);
}

/** As the engine's decide() for an attribute condition. */
function holds(reader: FirstReader, c: AttributeCondition, ctx: EvaluationContext): boolean {
  const negated = LIST_OPS[c.op];
  if (negated !== undefined) {
    const slot = reader.slots.get(c.attribute)!;
    const v = readAttribute(ctx, slot.src, slot.name, slot.guarded);
    const listed = (c.values as readonly unknown[]).includes(v);
    return negated ? isScalar(v) && !listed : listed;
  }
  const t = reader.tests.get(c)!;
  return testValue(t, readAttribute(ctx, t.src, t.name, t.guarded));
}

/** As the engine's segment test: excluded keys, included keys, then any rule whose conditions hold. */
function inSegment(reader: FirstReader, name: string, ctx: EvaluationContext): boolean {
  const def = reader.doc.segments![name]!;
  let s = reader.segments.get(name);
  if (s === undefined) {
    s = {
      included: def.included !== undefined && def.included.length > 0 ? new Set(def.included) : null,
      excluded: def.excluded !== undefined && def.excluded.length > 0 ? new Set(def.excluded) : null,
    };
    reader.segments.set(name, s);
  }
  const key = ctx.targetingKey;
  if (typeof key === "string") {
    if (s.excluded?.has(key)) return false;
    if (s.included?.has(key)) return true;
  }
  for (const rule of def.rules ?? []) {
    let all = true;
    for (let j = 0; j < rule.when.length && all; j++) all = holds(reader, rule.when[j]!, ctx);
    if (all) return true;
  }
  return false;
}

function serveOf(
  w: Walk,
  key: string,
  type: FlagType,
  def: FlagDefinition,
  what: Serve | ProgressiveSplit,
  ruleId: string,
  fixedReason: Reason,
): EvaluationResult {
  const { reader, ctx, now } = w;
  if (typeof what === "string") return result(reader, key, type, def, what, fixedReason, ruleId);
  // The bucket key: the targeting key (empty counts as missing), or a scalar attribute's text.
  const by = splitByOf(what);
  const slot = reader.slots.get(by)!;
  const raw = readAttribute(ctx, slot.src, slot.name, slot.guarded);
  const byKey = slot.src === SRC_KEY;
  const bucketKey = bucketKeyOf(raw, byKey);
  if (bucketKey === undefined) return splitKeyMissing(key, type, byKey, by, ruleId);
  // DESIGN.md's formula, as the engine computes it: murmur3 of the salt's then the key's UTF-8, its
  // bucket in the total weight, the first variant whose running sum (negative weights as 0) exceeds it.
  // Read straight from the table (written order), without building the entries on cold code.
  // The weights in force: the last step reached (as the engine picks it), else the base split.
  let table = what.split;
  const steps = reader.steps.size === 0 ? undefined : reader.steps.get(what as ProgressiveSplit);
  if (steps !== undefined) {
    for (let i = steps.length - 1; i >= 0; i--) {
      if (steps[i]!.at <= now) {
        table = steps[i]!.split;
        break;
      }
    }
  }
  const hash = murmur3(utf8Binary(splitSaltOf(what, key)) + bucketKeyBinary(w, bucketKey));
  return result(reader, key, type, def, variantOfSplit(table, hash), "SPLIT", ruleId);
}

/** The bucket key's UTF-8 binary string, worked out once per call for all the flags split by it. */
function bucketKeyBinary(w: Walk, bucketKey: string): string {
  if (w.key !== bucketKey) {
    w.key = bucketKey;
    w.keyBinary = utf8Binary(bucketKey);
  }
  return w.keyBinary;
}

/**
 * The variant whose running sum of weights (negative weights as 0, in the written order) first
 * exceeds the hash's bucket in the total; the last one otherwise: the engine's
 * pickVariant(cumulativeWeights(...), bucketOf(...)) (src/eval/bucket.ts), read straight from the
 * table so that no entries or sums are built per flag on cold code.
 */
function variantOfSplit(table: SplitWeights, hash: number): string {
  let total = 0;
  let bucket: number;
  let sum = 0;
  if (Array.isArray(table)) {
    for (let i = 0; i < table.length; i++) if (table[i]!.weight > 0) total += table[i]!.weight;
    bucket = bucketOf(hash, total);
    for (let i = 0; i < table.length; i++) {
      if (table[i]!.weight > 0) sum += table[i]!.weight;
      if (sum > bucket) return table[i]!.variant;
    }
    return table[table.length - 1]!.variant;
  }
  // Own keys in Object.keys order, as compile's splitEntries reads a map.
  let last = "";
  for (const variant in table)
    if (Object.hasOwn(table, variant) && table[variant]! > 0) total += table[variant]!;
  bucket = bucketOf(hash, total);
  for (const variant in table) {
    if (!Object.hasOwn(table, variant)) continue;
    if (table[variant]! > 0) sum += table[variant]!;
    if (sum > bucket) return variant;
    last = variant;
  }
  return last;
}

function result(
  reader: FirstReader,
  key: string,
  type: FlagType,
  def: FlagDefinition,
  variant: string,
  reason: Reason,
  ruleId: string | undefined,
): EvaluationResult {
  let variants = variantsOf(def) as Readonly<Record<string, JsonValue>>;
  if (type === "json") {
    // Never the document's own objects: the frozen copies compile would hand out.
    let frozen = reader.json.get(key);
    if (frozen === undefined) {
      frozen = frozenVariants(def);
      reader.json.set(key, frozen);
    }
    variants = frozen;
  }
  return served(key, type, variant, variants[variant]!, reason, ruleId);
}
