/**
 * evaluate() / evaluateAll() / evaluateValues(): walk a compiled snapshot for one context at one
 * moment, in the contract's order. Never throws; returns shared pre-built results, so the hot path
 * allocates only the output (and a UTF-8 copy of a non-ASCII bucket key). Pure: `now` is an argument, no I/O.
 */
import type { FlagType, JsonValue } from "../flags/types";
import { readAttribute } from "./attributes";
import { pickByHash, utf8Binary } from "./bucket";
import type { CompiledFlags } from "./compile";
import type {
  CompiledCondition,
  CompiledFlag,
  CompiledGeo,
  CompiledSegment,
  CompiledSplit,
  GeoMatcher,
} from "./compiled";
import { hashBlocks, hashResume, type KeyBlocks, keyBlocks } from "./murmur";
import { type CompiledTest, OP_IN, OP_SEGMENT, testValue } from "./operators";
import { flagNotFound, typeMismatch } from "./reasons";
import { scheduleActive } from "./schedule";
import type { EvaluationContext, EvaluationResult, GeoFacts } from "./types";

/**
 * Per-evaluation state: the context, the clock, and what is worth computing once per context. A Run
 * and its memo buffers are reused from call to call (see acquire), so one evaluation costs what its
 * flag touches, not the size of the snapshot: buffers are never zeroed between calls; an epoch counter
 * tells this call's entries from older ones.
 */
class Run {
  ctx: EvaluationContext = NO_CONTEXT;
  now = 0;
  /** The targeting key cut into hash blocks, per prefix alignment (0-3), computed on first use. */
  keyBlocks: (KeyBlocks | undefined)[] | null = null;
  /** Bumped per evaluation; outcome stamps below 2 * epoch are from earlier evaluations. */
  epoch = 0;
  /** This evaluation's stamps: an outcome equal to `yes` is true, `no` false, anything less unknown. */
  no = 0;
  yes = 1;
  /** Outcomes of segments and tests by memo index, stamped with the epoch (see `no` and `yes`). */
  readonly outcomes: Uint32Array;
  /** Attribute values by slot (UNREAD until read): flags usually test the same few attributes. */
  readonly values: unknown[];
  /** The slots read this evaluation, reset to UNREAD at release so no context value outlives its call. */
  readonly touched: Int32Array;
  touchedCount = 0;
  /** Results by flag index, valid where resultEpochs holds the epoch: a shared prerequisite runs once. */
  readonly results: (EvaluationResult | undefined)[] | null;
  readonly resultEpochs: Uint32Array | null;

  constructor(compiled: CompiledFlags) {
    this.outcomes = new Uint32Array(compiled.memoCount);
    this.values = new Array<unknown>(compiled.attributeCount).fill(UNREAD);
    this.touched = new Int32Array(compiled.attributeCount);
    const n = compiled.hasPrerequisites ? compiled.flags.length : 0;
    this.results = n > 0 ? new Array<EvaluationResult | undefined>(n).fill(undefined) : null;
    this.resultEpochs = n > 0 ? new Uint32Array(n) : null;
  }
}

const UNREAD: unknown = Object.freeze({});
const NO_CONTEXT: EvaluationContext = Object.freeze({});
/** Outcome stamps are 2 * epoch + bit in a Uint32Array: restart (and clear) before they overflow. */
const MAX_EPOCH = 0x7fff_fff0;

/**
 * A Run for one evaluation, from the snapshot's pool of idle ones. evaluate() is synchronous, so one
 * Run usually serves every call; a nested call (say, from an attribute getter that itself evaluates)
 * finds the pool empty and gets a Run of its own, so no two evaluations ever share memo entries.
 */
function acquire(compiled: CompiledFlags, ctx: EvaluationContext, now: number): Run {
  const run = (compiled.idle.pop() as Run | undefined) ?? new Run(compiled);
  run.ctx = ctx;
  run.now = now;
  run.keyBlocks = null;
  let epoch = run.epoch + 1;
  if (epoch > MAX_EPOCH) {
    run.outcomes.fill(0);
    run.resultEpochs?.fill(0);
    epoch = 1;
  }
  run.epoch = epoch;
  run.no = 2 * epoch;
  run.yes = 2 * epoch + 1;
  return run;
}

/** Returns a Run to the pool, dropping its references to the context. */
function release(compiled: CompiledFlags, run: Run): void {
  const values = run.values;
  const touched = run.touched;
  for (let i = 0; i < run.touchedCount; i++) values[touched[i]!] = UNREAD;
  run.touchedCount = 0;
  run.ctx = NO_CONTEXT;
  run.keyBlocks = null;
  compiled.idle.push(run);
}

/** The value a test reads, memoised per context (undefined when missing). */
function readSlot(run: Run, t: CompiledTest): unknown {
  const values = run.values;
  let v = values[t.slot];
  if (v === UNREAD) {
    v = readAttribute(run.ctx, t.src, t.name, t.guarded);
    values[t.slot] = v;
    run.touched[run.touchedCount++] = t.slot;
  }
  return v;
}

/** An attribute test's outcome, memoised per context: flags often repeat the same conditions. */
function passes(run: Run, t: CompiledTest): boolean {
  const memo = run.outcomes;
  const known = memo[t.memo]!;
  if (known >= run.no) return known === run.yes;
  const v = readSlot(run, t);
  // `in` (and `equals`) is most of real targeting: test it here rather than through the switch.
  const ok = t.op === OP_IN ? t.set!.has(v) : testValue(t, v);
  memo[t.memo] = ok ? run.yes : run.no;
  return ok;
}

/** Segment membership, memoised per context: many flags usually share a few segments. */
function inSegment(run: Run, s: CompiledSegment): boolean {
  const memo = run.outcomes;
  const known = memo[s.memo]!;
  if (known >= run.no) return known === run.yes;
  const member = computeSegment(run, s);
  memo[s.memo] = member ? run.yes : run.no;
  return member;
}

function computeSegment(run: Run, s: CompiledSegment): boolean {
  const key = run.ctx.targetingKey;
  if (typeof key === "string") {
    if (s.excluded?.has(key)) return false;
    if (s.included?.has(key)) return true;
  }
  for (const rule of s.rules) {
    let all = true;
    for (const t of rule) {
      if (!passes(run, t)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

function matches(run: Run, conditions: readonly CompiledCondition[]): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    const op = c.op;
    if (op === OP_SEGMENT) {
      if (inSegment(run, c.segment!) === c.negate) return false;
    } else if (!passes(run, c)) {
      return false;
    }
  }
  return true;
}

function inGeo(m: GeoMatcher, geo: GeoFacts): boolean {
  const country = geo.country;
  if (country !== undefined) {
    if (m.countries.has(country)) return true;
    if (geo.regionCode !== undefined && m.regions.get(country)?.has(geo.regionCode) === true) return true;
  }
  return geo.continent !== undefined && m.continents.has(geo.continent);
}

/** Whether geo decides: the visitor is outside the allow lists or inside a block list. */
function geoDecides(g: CompiledGeo, geo: GeoFacts | undefined): boolean {
  if (geo === undefined || geo === null) return g.allow !== null;
  if (g.block !== null && inGeo(g.block, geo)) return true;
  return g.allow !== null && !inGeo(g.allow, geo);
}

/**
 * Whether a flag's geo allow/block lists keep this context out: what its geo step serves when reached.
 * Not whether geo decided this evaluation (an earlier step may have): whether it would. False for
 * unknown keys and flags without geo lists. Overrides (preview links) use it: a geo restriction is
 * usually a legal one, which nothing may bypass.
 */
export function geoRestricts(compiled: CompiledFlags, key: string, ctx: EvaluationContext): boolean {
  const geo = compiled.byKey.get(key)?.geo;
  return geo !== null && geo !== undefined && geoDecides(geo, ctx.geo);
}

/** The targeting key's hash blocks for a salt alignment; undefined when there is no usable key. */
function targetingKeyBlocks(run: Run, alignment: number): KeyBlocks | undefined {
  let cache = run.keyBlocks;
  if (cache === null) {
    const key = run.ctx.targetingKey;
    // An empty key would put every anonymous visitor in one bucket: treat it as missing.
    if (typeof key !== "string" || key === "") return undefined;
    cache = [undefined, undefined, undefined, undefined];
    run.keyBlocks = cache;
  }
  let blocks = cache[alignment];
  if (blocks === undefined) {
    blocks = keyBlocks(utf8Binary(run.ctx.targetingKey!), alignment);
    cache[alignment] = blocks;
  }
  return blocks;
}

function split(run: Run, s: CompiledSplit): EvaluationResult {
  let hash: number;
  if (s.byKey) {
    const blocks = targetingKeyBlocks(run, s.carryLength);
    if (blocks === undefined) return s.missing;
    hash = hashBlocks(s, blocks) >>> 0;
  } else {
    const v = readAttribute(run.ctx, s.src, s.name, s.guarded);
    const t = typeof v;
    if (t !== "string" && t !== "number" && t !== "boolean") return s.missing;
    const str = String(v);
    if (str === "") return s.missing;
    hash = hashResume(s, utf8Binary(str));
  }
  let w = s.base;
  const steps = s.steps;
  for (let i = steps.length - 1; i >= 0; i--) {
    if (steps[i]!.at <= run.now) {
      w = steps[i]!.weights;
      break;
    }
  }
  return w.results[pickByHash(w.bounds, hash)]!;
}

function resultOf(run: Run, flag: CompiledFlag): EvaluationResult {
  const epochs = run.resultEpochs;
  if (epochs === null) return evalFlag(run, flag);
  const i = flag.index;
  if (epochs[i] === run.epoch) return run.results![i]!;
  const r = evalFlag(run, flag);
  run.results![i] = r;
  epochs[i] = run.epoch;
  return r;
}

/** Steps 2-5 (kill switch, schedule, prerequisites, geo, targets): the result if one decides. */
function gates(run: Run, flag: CompiledFlag): EvaluationResult | null {
  if (flag.disabled !== null) return flag.disabled;
  if (flag.schedule !== null && !scheduleActive(flag.schedule, run.now)) return flag.scheduleOff!;
  const prerequisites = flag.prerequisites;
  if (prerequisites !== null) {
    for (const p of prerequisites) {
      const variant = resultOf(run, p.flag).variant;
      if (variant === undefined || !p.variants.has(variant)) return p.failed;
    }
  }
  if (flag.geo !== null && geoDecides(flag.geo, run.ctx.geo)) return flag.geo.result;
  const targets = flag.targets;
  if (targets !== null) {
    const key = run.ctx.targetingKey;
    if (key !== undefined) {
      for (let i = 0; i < targets.length; i++) if (targets[i]!.keys.has(key)) return targets[i]!.result;
    }
  }
  return null;
}

/** The contract's order; the first step that decides, decides. */
function evalFlag(run: Run, flag: CompiledFlag): EvaluationResult {
  if (flag.gated) {
    const decided = gates(run, flag);
    if (decided !== null) return decided;
  }
  const rules = flag.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (matches(run, rule.conditions)) return rule.result !== null ? rule.result : split(run, rule.split!);
  }
  return flag.fallthroughResult !== null ? flag.fallthroughResult : split(run, flag.fallthroughSplit!);
}

/**
 * Evaluates one flag. Unknown key: ERROR/FLAG_NOT_FOUND; `expectedType` given and different from the
 * flag's: ERROR/TYPE_MISMATCH. The returned object is shared and frozen: do not mutate it.
 */
export function evaluate(
  compiled: CompiledFlags,
  key: string,
  ctx: EvaluationContext,
  now: number,
  expectedType?: FlagType,
): EvaluationResult {
  const flag = compiled.byKey.get(key);
  if (flag === undefined) return flagNotFound(key);
  if (expectedType !== undefined && expectedType !== flag.type)
    return typeMismatch(key, flag.type, expectedType);
  const run = acquire(compiled, ctx, now);
  try {
    // resultOf, not evalFlag: a prerequisite reached twice (a diamond) is evaluated once.
    return resultOf(run, flag);
  } finally {
    release(compiled, run);
  }
}

/** Options of the bulk evaluations. */
export interface EvaluateAllOptions {
  /** Only flags marked clientVisible (what front-ends may see). Default false: every flag. */
  clientVisibleOnly?: boolean;
}

/** Evaluates every flag (or every client-visible one) for one context, in key order. */
export function evaluateAll(
  compiled: CompiledFlags,
  ctx: EvaluationContext,
  now: number,
  options?: EvaluateAllOptions,
): EvaluationResult[] {
  const list = options?.clientVisibleOnly === true ? compiled.clientFlags : compiled.flags;
  const n = list.length;
  const out = new Array<EvaluationResult>(n);
  const run = acquire(compiled, ctx, now);
  try {
    for (let i = 0; i < n; i++) out[i] = resultOf(run, list[i]!);
  } finally {
    release(compiled, run);
  }
  return out;
}

/**
 * Values only, for compact responses: key -> value of every flag (or every client-visible one) that
 * evaluated without error, in key order. Cheaper than evaluateAll when reasons are not wanted.
 */
export function evaluateValues(
  compiled: CompiledFlags,
  ctx: EvaluationContext,
  now: number,
  options?: EvaluateAllOptions,
): Record<string, JsonValue> {
  const visibleOnly = options?.clientVisibleOnly === true;
  const list = visibleOnly ? compiled.clientFlags : compiled.flags;
  const run = acquire(compiled, ctx, now);
  const out: Record<string, JsonValue> = {};
  try {
    for (let i = 0; i < list.length; i++) {
      const flag = list[i]!;
      const value = resultOf(run, flag).value;
      if (value !== undefined) out[flag.key] = value;
    }
  } finally {
    release(compiled, run);
  }
  return out;
}
