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
  CompiledFlag,
  CompiledGeo,
  CompiledSegment,
  CompiledSplit,
  GeoMatcher,
  RuleProgram,
  ValueIndex,
  Weights,
} from "./compiled";
import { hashBlocks, hashResume, type KeyBlocks, keyBlocks } from "./murmur";
import { type CompiledTest, isScalar, OP_IN, OP_NOT_IN, OP_SEGMENT, testValue } from "./operators";
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
  /** Set by the bulk evaluations, which ask about most flags of the snapshot (see stampListed). */
  bulk = false;
  /**
   * The targeting key cut into hash blocks, per prefix alignment (0-3), computed on first use (NO_KEY
   * when there is no usable key); cleared at release.
   */
  readonly keyBlocks: (KeyBlocks | undefined)[] = [undefined, undefined, undefined, undefined];
  /** Bumped per evaluation; outcome stamps below 2 * epoch are from earlier evaluations. */
  epoch = 0;
  /** This evaluation's stamps: an outcome equal to `yes` is true, `no` false, anything less unknown. */
  no = 0;
  yes = 1;
  /** Outcomes of segments, tests and target lists by memo index, stamped (see `no` and `yes`). */
  readonly outcomes: Uint32Array;
  /** What decides each memo entry (the snapshot's). */
  readonly deciders: readonly CompiledTest[];
  /** The snapshot's value index (what in / not_in tests and target lists list). */
  readonly index: ValueIndex;
  /** By slot: the index entry of the slot's value, valid where hitEpochs holds the epoch. */
  readonly hits: Int32Array;
  readonly hitEpochs: Uint32Array;
  /** The rule each program matched (-1: none) by program id, valid where matchEpochs holds the epoch. */
  readonly matched: Int32Array;
  readonly matchEpochs: Uint32Array;
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
    this.deciders = compiled.deciders;
    this.index = compiled.index;
    this.hits = new Int32Array(compiled.attributeCount);
    this.hitEpochs = new Uint32Array(compiled.attributeCount);
    this.matched = new Int32Array(compiled.programCount);
    this.matchEpochs = new Uint32Array(compiled.programCount);
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
  let epoch = run.epoch + 1;
  if (epoch > MAX_EPOCH) {
    run.outcomes.fill(0);
    run.matchEpochs.fill(0);
    run.hitEpochs.fill(0);
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
  run.bulk = false;
  const blocks = run.keyBlocks;
  blocks[0] = blocks[1] = blocks[2] = blocks[3] = undefined;
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

/**
 * Decides memo entry `m` (a test, segment or target list) on its first use in this evaluation, records
 * it and returns its stamp (`run.yes` or `run.no`). Out of line on purpose: after the first few flags
 * of a context, every entry the rest need is decided and the rule walk only compares stamps.
 */
function decide(run: Run, m: number): number {
  const t = run.deciders[m]!;
  const op = t.op;
  let ok: boolean;
  if (op === OP_SEGMENT) {
    ok = computeSegment(run, t.segment!);
  } else if (op === OP_IN) {
    ok = listed(run, t);
  } else if (op === OP_NOT_IN) {
    ok = isScalar(readSlot(run, t)) && !listed(run, t);
  } else {
    ok = testValue(t, readSlot(run, t));
  }
  const stamp = ok ? run.yes : run.no;
  run.outcomes[m] = stamp;
  return stamp;
}

/** A Run.hits entry that is not a value index entry: the value is in no test's list. */
const UNLISTED = -0x8000_0000;
/** A Run.hits entry: every in / not_in test of the slot was decided at its lookup (see stampSlot). */
const STAMPED = -0x7fff_ffff;

/**
 * Whether the value of the in / not_in test t's attribute is in t's values: the value is looked up in
 * the index once per context and attribute, then each test only compares memo indexes.
 */
function listed(run: Run, t: CompiledTest): boolean {
  const slot = t.slot;
  let hit: number;
  if (run.hitEpochs[slot] === run.epoch) {
    hit = run.hits[slot]!;
  } else {
    const v = readSlot(run, t);
    hit = run.index.bySlot[slot]!.get(v) ?? UNLISTED;
    run.hitEpochs[slot] = run.epoch;
    if (run.bulk) {
      stampSlot(run, slot, hit, v);
      run.hits[slot] = STAMPED;
      return run.outcomes[t.memo] === (t.op === OP_IN ? run.yes : run.no);
    }
    run.hits[slot] = hit;
  }
  if (hit >= 0) return hit === t.memo;
  // A value in several lists: a binary search, so that no lookup costs more than O(log n).
  return hit !== UNLISTED && hit !== STAMPED && sortedIncludes(run.index.lists[~hit]!, t.memo);
}

/**
 * Bulk evaluations only (most flags of the snapshot will ask): decides every in / not_in test and
 * target list of the slot at its first lookup, in one pass over ints, so that the rule walk of every
 * later flag finds its tests decided instead of calling `decide` once per distinct test. A single-flag
 * evaluation keeps the per-test lookup, so its cost stays independent of the snapshot's size.
 */
function stampSlot(run: Run, slot: number, hit: number, v: unknown): void {
  const outcomes = run.outcomes;
  const notIn = run.index.notIn;
  const yes = run.yes;
  const no = run.no;
  // Not listed: in is false; not_in is true for a scalar (a missing or non-scalar value fails both).
  const unlisted = isScalar(v) ? yes : no;
  const all = run.index.testsBySlot[slot]!;
  for (let i = 0; i < all.length; i++) {
    const m = all[i]!;
    outcomes[m] = notIn[m] === 1 ? unlisted : no;
  }
  if (hit === UNLISTED) return;
  if (hit >= 0) {
    outcomes[hit] = notIn[hit] === 1 ? no : yes;
    return;
  }
  const memos = run.index.lists[~hit]!;
  for (let i = 0; i < memos.length; i++) {
    const m = memos[i]!;
    outcomes[m] = notIn[m] === 1 ? no : yes;
  }
}

/** Binary search in ascending ints. */
function sortedIncludes(sorted: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = sorted[mid]!;
    if (at === x) return true;
    if (at < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Whether memo entry `m` holds for this context: flags usually share conditions, segments and lists. */
function holds(run: Run, m: number): boolean {
  let known = run.outcomes[m]!;
  if (known < run.no) known = decide(run, m);
  return known === run.yes;
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
      if (!holds(run, t.memo)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** The index of the first rule of `program` whose conditions all hold, or -1; memoised per context. */
function matchedRule(run: Run, program: RuleProgram): number {
  const id = program.id;
  if (id < 0) return walk(run, program);
  if (run.matchEpochs[id] === run.epoch) return run.matched[id]!;
  const rule = walk(run, program);
  run.matched[id] = rule;
  run.matchEpochs[id] = run.epoch;
  return rule;
}

/** The program's first matching rule: its own rules, then its shared tail's (memoised) match. */
function walk(run: Run, program: RuleProgram): number {
  const rule = firstMatch(run, program.code);
  if (rule >= 0) return rule;
  const tail = program.tail;
  if (tail === null) return -1;
  const fromTail = matchedRule(run, tail);
  return fromTail < 0 ? -1 : fromTail + program.tailRule;
}

/**
 * The index of the first rule whose conditions all hold, or -1. A tight loop over ints and stamps:
 * no object per rule or condition is touched once the memo entries are decided.
 */
function firstMatch(run: Run, code: Int32Array): number {
  const outcomes = run.outcomes;
  const no = run.no;
  const yes = run.yes;
  const end = code.length;
  let rule = 0;
  let pc = 0;
  while (pc < end) {
    const next = pc + 1 + code[pc]!;
    for (pc++; pc < next; pc++) {
      const c = code[pc]!;
      let known = outcomes[c >> 1]!;
      if (known < no) known = decide(run, c >> 1);
      // Fails when the outcome equals the negation bit: false for a plain condition, true for a negated one.
      if ((known === yes) === ((c & 1) !== 0)) break;
    }
    if (pc === next) return rule;
    pc = next;
    rule++;
  }
  return -1;
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
export function geoDecides(g: CompiledGeo, geo: GeoFacts | undefined): boolean {
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

/** Stands for "no usable targeting key" in Run.keyBlocks. */
const NO_KEY: KeyBlocks = keyBlocks("", 0);

/** Cuts the targeting key for a salt alignment, on the first split of the context that needs it. */
function cutTargetingKey(run: Run, alignment: number): KeyBlocks {
  const key = run.ctx.targetingKey;
  // An empty key would put every anonymous visitor in one bucket: treat it as missing.
  const blocks = typeof key !== "string" || key === "" ? NO_KEY : keyBlocks(utf8Binary(key), alignment);
  run.keyBlocks[alignment] = blocks;
  return blocks;
}

/** The split's hash of a bucketing attribute (not the key), or -1 when it has no usable value. */
function attributeHash(run: Run, s: CompiledSplit): number {
  const v = readAttribute(run.ctx, s.src, s.name, s.guarded);
  const t = typeof v;
  if (t !== "string" && t !== "number" && t !== "boolean") return -1;
  const str = String(v);
  if (str === "") return -1;
  return hashResume(s, utf8Binary(str));
}

/** The weights in force at `now`: the last progressive step reached, else the base. */
function weightsAt(s: CompiledSplit, now: number): Weights {
  const steps = s.steps;
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.at <= now) return steps[i]!.weights;
  return s.base;
}

/** Kept small (the rare cases are out of line) so the hash inlines here: one split per flag is common. */
function split(run: Run, s: CompiledSplit): EvaluationResult {
  let hash: number;
  if (s.byKey) {
    const blocks = run.keyBlocks[s.carryLength] ?? cutTargetingKey(run, s.carryLength);
    if (blocks === NO_KEY) return s.missing;
    hash = hashBlocks(s, blocks) >>> 0;
  } else {
    hash = attributeHash(run, s);
    if (hash < 0) return s.missing;
  }
  const w = s.steps.length === 0 ? s.base : weightsAt(s, run.now);
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

/** Steps 2-4 (kill switch, schedule, prerequisites, geo): the result if one decides. */
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
  return null;
}

/** The contract's order; the first step that decides, decides. */
function evalFlag(run: Run, flag: CompiledFlag): EvaluationResult {
  if (flag.gated) {
    const decided = gates(run, flag);
    if (decided !== null) return decided;
  }
  // Step 5 here, not in gates: target lists are common, and a list shared by many flags is one memo
  // entry, decided once per context.
  const targets = flag.targets;
  if (targets !== null) {
    for (let i = 0; i < targets.length; i++) if (holds(run, targets[i]!.memo)) return targets[i]!.result;
  }
  const program = flag.program;
  if (program !== null) {
    const i = matchedRule(run, program);
    if (i >= 0) {
      const rule = flag.rules[i]!;
      return rule.result !== null ? rule.result : split(run, rule.split!);
    }
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

/**
 * Whether an evaluation of `list` asks about most of the snapshot, so that deciding all of an
 * attribute's list tests at once pays (see stampSlot): a few client-visible flags among thousands of
 * server-only ones keep the per-test lookup, and their cost stays with the flags they evaluate.
 */
function asksMost(compiled: CompiledFlags, list: readonly CompiledFlag[]): boolean {
  return list.length * 2 >= compiled.flags.length;
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
  run.bulk = asksMost(compiled, list);
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
  run.bulk = asksMost(compiled, list);
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
