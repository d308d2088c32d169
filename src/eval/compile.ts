/**
 * compile(): turns a validated flags document into the form evaluation walks, once per snapshot.
 * Resolves every name (variants, segments, prerequisites, attributes), pre-builds every result a flag
 * can return, and throws CompileError for anything structurally impossible. Pure, no I/O.
 */
import {
  flagTypeOf,
  isClientVisible,
  isEnabled,
  offVariantOf,
  ruleIdOf,
  splitByOf,
  splitEntries,
  splitSaltOf,
  variantsOf,
} from "../flags/defaults";
import type {
  AttributeCondition,
  Condition,
  FlagDefinition,
  FlagsDocument,
  FlagType,
  GeoLists,
  JsonValue,
  ProgressiveSplit,
  Rule,
  SegmentDefinition,
  Serve,
  SplitWeights,
} from "../flags/types";
import { resolveAttribute, SRC_KEY } from "./attributes";
import { hashBounds, utf8Binary } from "./bucket";
import type {
  CompiledFlag,
  CompiledGeo,
  CompiledPrerequisite,
  CompiledRule,
  CompiledSegment,
  CompiledServe,
  CompiledSplit,
  CompiledTargets,
  GeoMatcher,
  RuleProgram,
  TargetKeys,
  ValueIndex,
  Weights,
} from "./compiled";
import { CompileError } from "./errors";
import { hashPrefix } from "./murmur";
import { type CompiledTest, compileTest, OP_IN, OP_NOT_IN, segmentTest, targetKeysTest } from "./operators";
import {
  PREREQUISITE_PREFIX,
  RULE_FALLTHROUGH,
  RULE_GEO,
  RULE_GUARD,
  RULE_SCHEDULE,
  RULE_TARGET,
  served,
  splitKeyMissing,
} from "./reasons";
import { type CompiledSchedule, compileSchedule, parseInstant, type ZoneClock } from "./schedule";
import type { Reason } from "./types";

/** A compiled snapshot: immutable, shareable across requests, evaluated with evaluate()/evaluateAll(). */
export class CompiledFlags {
  /** Flag keys in ascending code-unit order: the order evaluateAll reports in. */
  readonly keys: readonly string[];
  /** @internal flags in key order */
  readonly flags: readonly CompiledFlag[];
  /** @internal the client-visible flags, in key order */
  readonly clientFlags: readonly CompiledFlag[];
  /** @internal key -> flag */
  readonly byKey: ReadonlyMap<string, CompiledFlag>;
  /** @internal whether any flag has prerequisites (then evaluateAll memoises results) */
  readonly hasPrerequisites: boolean;

  /** @internal size of the per-evaluation outcome memo (segments, distinct tests, target lists) */
  readonly memoCount: number;

  /** @internal what decides each outcome memo entry, by memo index */
  readonly deciders: readonly CompiledTest[];

  /** @internal number of distinct attribute references (size of the per-evaluation value memo) */
  readonly attributeCount: number;

  /**
   * @internal evaluate.ts's idle per-evaluation states (memo buffers), reused so that evaluating one
   * flag does not allocate or clear buffers sized to the whole snapshot. The only mutable part.
   */
  readonly idle: unknown[] = [];

  /** @internal number of distinct rule programs (size of the per-evaluation matched-rule memo) */
  readonly programCount: number;

  /** @internal the values of every in / not_in test and target list, by attribute slot */
  readonly index: ValueIndex;

  constructor(
    flags: readonly CompiledFlag[],
    deciders: readonly CompiledTest[],
    programCount: number,
    attributeCount: number,
    index: ValueIndex,
  ) {
    this.programCount = programCount;
    this.index = index;
    this.deciders = Object.freeze(deciders.slice());
    this.memoCount = deciders.length;
    this.attributeCount = attributeCount;
    this.flags = Object.freeze(flags.slice());
    this.keys = Object.freeze(flags.map((f) => f.key));
    this.clientFlags = Object.freeze(flags.filter((f) => f.clientVisible));
    this.byKey = new Map(flags.map((f) => [f.key, f]));
    this.hasPrerequisites = flags.some((f) => f.prerequisites !== null);
    Object.freeze(this);
  }

  /** Whether the snapshot has this flag. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Whether front-ends may see this flag (false for unknown keys). */
  isClientVisible(key: string): boolean {
    return this.byKey.get(key)?.clientVisible === true;
  }

  /** The flag's type, or undefined for unknown keys. */
  typeOf(key: string): FlagType | undefined {
    return this.byKey.get(key)?.type;
  }
}

function deepFreeze(value: JsonValue): JsonValue {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Variants are copied and deep-frozen: results share them, so no caller can alter another's value. */
export function frozenVariants(flag: FlagDefinition): Readonly<Record<string, JsonValue>> {
  // A flag without variants gets the shared boolean pair, already frozen.
  if (flag.variants === undefined) return variantsOf(flag);
  // fromEntries defines own properties, so even a variant named "__proto__" stays a variant.
  const out = Object.fromEntries(
    Object.entries(variantsOf(flag)).map(([name, value]) => [
      name,
      value !== null && typeof value === "object" ? deepFreeze(structuredClone(value)) : value,
    ]),
  );
  return Object.freeze(out);
}

export function geoMatcher(lists: GeoLists): GeoMatcher {
  const regions = new Map<string, Set<string>>();
  for (const r of lists.regions ?? []) {
    const dash = r.indexOf("-");
    if (dash <= 0) continue;
    const country = r.slice(0, dash);
    const codes = regions.get(country) ?? new Set<string>();
    codes.add(r.slice(dash + 1));
    regions.set(country, codes);
  }
  return { countries: new Set(lists.countries ?? []), continents: new Set(lists.continents ?? []), regions };
}

/**
 * The distinct tests of one attribute and operator. Most value lists hold one value, which is the key
 * itself; only longer lists (or none) pay for their JSON.
 */
/** A RuleProgram while compiling: its id is handed out when a second flag shares it, its tail at the end. */
interface ProgramDraft {
  id: number;
  code: Int32Array;
  tail: ProgramDraft | null;
  tailRule: number;
}

interface TestsOf {
  readonly one: Map<unknown, CompiledTest>;
  readonly many: Map<unknown, CompiledTest>;
}

/** A copy of a target list seen while compiling (compared with later ones) and what it interned to. */
interface KeyList {
  readonly keys: readonly string[];
  readonly target: TargetKeys;
}

/** State shared while compiling one document. */
class Compiler {
  private readonly segments = new Map<string, CompiledSegment>();
  private readonly compiled = new Map<string, CompiledFlag>();
  private readonly inProgress = new Set<string>();
  private readonly clocks = new Map<string, ZoneClock>();
  /** attribute reference -> memo slot */
  private readonly slots = new Map<string, number>();
  /** attribute -> operator -> the distinct tests of that pair */
  private readonly tests = new Map<unknown, Map<unknown, TestsOf>>();
  /** Target lists by a sample of their keys in order (see targetKeys): copies pasted as they are. */
  private readonly listsBySample = new Map<number, KeyList[]>();
  /** Target lists by a hash of all their keys, in any order (see targetKeys): the same keys reordered. */
  private readonly listsByContent = new Map<number, KeyList[]>();
  /** Distinct rule programs by code (see program). */
  private readonly programs = new Map<string, ProgramDraft>();
  /** Programs shared by two flags or more, which get a matched-rule memo entry each. */
  private sharedPrograms = 0;
  /** What decides each outcome memo entry handed out so far (segments, distinct tests, target lists). */
  private readonly deciders: CompiledTest[] = [];
  /** The value index being built (see ValueIndex): by slot, value -> memo index or ~(index in lists). */
  private readonly listed: Map<unknown, number>[] = [];
  private readonly lists: number[][] = [];
  /** By slot: the memo entries filed in the value index (see ValueIndex.testsBySlot). */
  private readonly slotTests: number[][] = [];
  private readonly order: Map<string, number>;

  constructor(
    private readonly doc: FlagsDocument,
    private readonly overrides: CompileOverrides = NO_OVERRIDES,
  ) {
    const keys = Object.keys(doc.flags).sort();
    this.order = new Map(keys.map((k, i) => [k, i]));
  }

  run(): CompiledFlags {
    const steps = this.steps(Number.POSITIVE_INFINITY);
    for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
  }

  /** The compile, pausing after every `slice` flags (see compileInSlices). */
  *steps(slice: number): Generator<undefined, CompiledFlags, undefined> {
    for (const [name, def] of Object.entries(this.doc.segments ?? {})) {
      this.segments.set(name, this.segment(name, def));
    }
    let n = 0;
    for (const key of this.order.keys()) {
      this.flag(key, `flags.${key}`);
      if (++n % slice === 0) yield;
    }
    this.shareTails();
    const notIn = new Uint8Array(this.deciders.length);
    for (let m = 0; m < notIn.length; m++) if (this.deciders[m]!.op === OP_NOT_IN) notIn[m] = 1;
    return new CompiledFlags(
      [...this.order.keys()].map((k) => this.compiled.get(k)!),
      this.deciders,
      this.sharedPrograms,
      this.slots.size,
      {
        bySlot: Array.from({ length: this.slots.size }, (_, slot) => this.listed[slot] ?? null),
        lists: this.lists.map((memos) => Int32Array.from(memos)),
        testsBySlot: Array.from({ length: this.slots.size }, (_, slot) => {
          const memos = this.slotTests[slot];
          return memos === undefined ? null : Int32Array.from(memos);
        }),
        notIn,
      },
    );
  }

  /**
   * Files the values of the in / not_in test (or target list) at `memo` under its slot in the value
   * index; returns how many distinct values it has. Memo indexes are handed out in increasing order,
   * so each value's list of them comes out sorted.
   */
  private index(slot: number, values: readonly unknown[], memo: number): number {
    const tests = this.slotTests[slot];
    if (tests === undefined) this.slotTests[slot] = [memo];
    else tests.push(memo);
    let map = this.listed[slot];
    if (map === undefined) {
      map = new Map();
      this.listed[slot] = map;
    }
    let distinct = 0;
    for (const v of values) {
      const had = map.get(v);
      if (had === undefined) {
        map.set(v, memo);
      } else if (had >= 0) {
        if (had === memo) continue;
        map.set(v, ~this.lists.length);
        this.lists.push([had, memo]);
      } else {
        const memos = this.lists[~had]!;
        if (memos[memos.length - 1] === memo) continue;
        memos.push(memo);
      }
      distinct++;
    }
    return distinct;
  }

  /** Hands out the next outcome memo entry, decided by what `decider` builds for that index. */
  private memo<T extends CompiledTest>(decider: (memo: number) => T): T {
    const memo = this.deciders.length;
    // Reserved before `decider` runs, so the index stays this entry's even if it compiles others.
    this.deciders.push(NO_DECIDER);
    const built = decider(memo);
    this.deciders[memo] = built;
    return built;
  }

  private segment(name: string, def: SegmentDefinition): CompiledSegment {
    const path = `segments.${name}`;
    return this.memo((memo) =>
      segmentTest({
        name,
        memo,
        included: def.included !== undefined && def.included.length > 0 ? new Set(def.included) : null,
        excluded: def.excluded !== undefined && def.excluded.length > 0 ? new Set(def.excluded) : null,
        rules: (def.rules ?? []).map((r, i) =>
          r.when.map((c, j) => this.test(c, `${path}.rules[${i}].when[${j}]`)),
        ),
      }),
    ).segment!;
  }

  /** Compiles a flag after its prerequisites (depth first), so references are to finished objects. */
  private flag(key: string, path: string): CompiledFlag {
    const done = this.compiled.get(key);
    if (done !== undefined) return done;
    if (this.inProgress.has(key)) {
      throw new CompileError("PREREQUISITE_CYCLE", path, `prerequisite cycle through "${key}"`);
    }
    const def = this.doc.flags[key];
    if (def === undefined || !Object.hasOwn(this.doc.flags, key)) {
      throw new CompileError("UNKNOWN_PREREQUISITE", path, `no flag "${key}"`);
    }
    this.inProgress.add(key);
    const flag = this.build(key, def, `flags.${key}`);
    this.inProgress.delete(key);
    this.compiled.set(key, flag);
    return flag;
  }

  private build(key: string, def: FlagDefinition, path: string): CompiledFlag {
    const type = flagTypeOf(def);
    if (type === undefined) throw new CompileError("INVALID_TYPE", path, "variants disagree on their type");
    const variants = frozenVariants(def);
    const result = (variant: string, reason: Reason, ruleId: string | undefined, at: string) => {
      if (!Object.hasOwn(variants, variant)) {
        throw new CompileError("UNKNOWN_VARIANT", at, `no variant "${variant}"`);
      }
      return served(key, type, variant, variants[variant]!, reason, ruleId);
    };
    const off = offVariantOf(def);
    const offPath = `${path}.offVariant`;

    // A kill (signed) wins over a tripped guard; both serve the off variant.
    const disabled = !isEnabled(def)
      ? result(off, "DISABLED", undefined, offPath)
      : this.overrides.tripped?.has(key)
        ? result(off, "DISABLED", RULE_GUARD, offPath)
        : null;
    let schedule: CompiledSchedule | null = null;
    let scheduleOff = null;
    if (def.schedule !== undefined) {
      schedule = compileSchedule(def.schedule, `${path}.schedule`, this.clocks);
      scheduleOff = result(off, "DISABLED", RULE_SCHEDULE, offPath);
    }

    let prerequisites: CompiledPrerequisite[] | null = null;
    if (def.prerequisites !== undefined && def.prerequisites.length > 0) {
      prerequisites = def.prerequisites.map((p, i) => {
        const at = `${path}.prerequisites[${i}]`;
        const other = this.flag(p.flag, at);
        for (const v of p.variants) {
          if (!Object.hasOwn(other.variants, v)) {
            throw new CompileError("UNKNOWN_VARIANT", at, `flag "${p.flag}" has no variant "${v}"`);
          }
        }
        return {
          flag: other,
          variants: new Set(p.variants),
          failed: result(off, "TARGETING_MATCH", PREREQUISITE_PREFIX + p.flag, offPath),
        };
      });
    }

    let geo: CompiledGeo | null = null;
    if (def.geo !== undefined && (def.geo.allow !== undefined || def.geo.block !== undefined)) {
      geo = {
        allow: def.geo.allow === undefined ? null : geoMatcher(def.geo.allow),
        block: def.geo.block === undefined ? null : geoMatcher(def.geo.block),
        result: result(def.geo.serve ?? off, "TARGETING_MATCH", RULE_GEO, `${path}.geo.serve`),
      };
    }

    // A key listed under two variants gets the first one listed: evaluation tries them in this order.
    let targets: CompiledTargets[] | null = null;
    for (const [variant, keys] of Object.entries(def.targets ?? {})) {
      const r = result(variant, "TARGETING_MATCH", RULE_TARGET, `${path}.targets`);
      if (keys.length === 0) continue;
      const list = this.targetKeys(keys);
      targets ??= [];
      targets.push(Object.freeze({ keys: list, memo: list.memo, result: r }));
    }

    // Plain loops here and in serve: a fresh isolate compiles every flag on cold code, where each
    // iterator, callback and destructuring is paid in the interpreter.
    const program: number[] = [];
    const ruleDefs = def.rules ?? NO_RULES;
    const rules: CompiledRule[] = new Array(ruleDefs.length);
    for (let i = 0; i < ruleDefs.length; i++) {
      const rule = ruleDefs[i]!;
      const at = `${path}.rules[${i}]`;
      rules[i] = this.serve(
        key,
        type,
        rule.serve,
        ruleIdOf(rule, i),
        "TARGETING_MATCH",
        result,
        `${at}.serve`,
      );
      const when = rule.when;
      program.push(when.length);
      for (let j = 0; j < when.length; j++) program.push(this.condition(when[j]!, `${at}.when[${j}]`));
    }

    // Nothing can vary: the answer is the same for every context and every moment.
    const isStatic =
      schedule === null && prerequisites === null && geo === null && targets === null && rules.length === 0;
    const fallthrough = this.serve(
      key,
      type,
      def.fallthrough,
      RULE_FALLTHROUGH,
      isStatic ? "STATIC" : "DEFAULT",
      result,
      `${path}.fallthrough`,
    );

    return Object.freeze({
      key,
      index: this.order.get(key)!,
      type,
      clientVisible: isClientVisible(def),
      gated: disabled !== null || schedule !== null || prerequisites !== null || geo !== null,
      disabled,
      schedule,
      scheduleOff,
      prerequisites,
      geo,
      targets,
      program: rules.length === 0 ? null : this.program(program),
      rules,
      fallthroughResult: fallthrough.result,
      fallthroughSplit: fallthrough.split,
      variants,
    });
  }

  /** The one RuleProgram of this code: flags with the same conditions share it (and its memo entry). */
  private program(code: number[]): RuleProgram {
    const key = code.join();
    let program = this.programs.get(key);
    if (program === undefined) {
      // Not memoised until a second flag shares it: a flag's own rules are walked once per context.
      program = { id: -1, code: Int32Array.from(code), tail: null, tailRule: 0 };
      this.programs.set(key, program);
    } else if (program.id < 0) {
      program.id = this.sharedPrograms++;
    }
    return program;
  }

  /**
   * Gives each program of one flag only (no memo entry) the longest run of last rules that another
   * program also ends with, as a shared tail: flags that differ in their first rules but end alike
   * (their own country list, then the same segment and block rules) then walk the common rules once
   * per context instead of once per flag. Runs once, after every flag, over the distinct programs.
   */
  private shareTails(): void {
    const drafts = [...this.programs.values()];
    // Rule boundaries after the first rule, and how many distinct programs end with each suffix.
    const ends = new Map<string, number>();
    const starts: number[][] = new Array(drafts.length);
    for (let d = 0; d < drafts.length; d++) {
      const code = drafts[d]!.code;
      const at: number[] = [];
      for (let pc = 1 + code[0]!; pc < code.length; pc += 1 + code[pc]!) {
        at.push(pc);
        const key = code.subarray(pc).join();
        ends.set(key, (ends.get(key) ?? 0) + 1);
      }
      starts[d] = at;
    }
    for (let d = 0; d < drafts.length; d++) {
      const draft = drafts[d]!;
      if (draft.id >= 0) continue; // memoised whole: its tail would be walked once per context anyway
      const at = starts[d]!;
      for (let r = 0; r < at.length; r++) {
        const pc = at[r]!;
        const key = draft.code.subarray(pc).join();
        if (ends.get(key)! < 2 && !this.programs.has(key)) continue;
        let tail = this.programs.get(key);
        if (tail === undefined) {
          tail = { id: -1, code: draft.code.slice(pc), tail: null, tailRule: 0 };
          this.programs.set(key, tail);
        }
        if (tail.id < 0) tail.id = this.sharedPrograms++;
        draft.tail = tail;
        draft.tailRule = r + 1;
        draft.code = draft.code.slice(0, pc);
        break;
      }
    }
  }

  /** A rule condition in RuleProgram form: its memo entry, shifted, with the negation bit. */
  private condition(c: Condition, path: string): number {
    if ("segment" in c) {
      const segment = this.segments.get(c.segment);
      if (segment === undefined) throw new CompileError("UNKNOWN_SEGMENT", path, `no segment "${c.segment}"`);
      return (segment.memo << 1) | (c.negate === true ? 1 : 0);
    }
    return this.test(c, path).memo << 1;
  }

  /** The one compiled instance of an attribute test. */
  private test(c: AttributeCondition, path: string): CompiledTest {
    let byOp = this.tests.get(c.attribute);
    if (byOp === undefined) {
      byOp = new Map();
      this.tests.set(c.attribute, byOp);
    }
    let tests = byOp.get(c.op);
    if (tests === undefined) {
      tests = { one: new Map(), many: new Map() };
      byOp.set(c.op, tests);
    }
    const values: unknown = c.values;
    // Map keys tell 1, "1" and true apart, as the JSON of the list would.
    const single = Array.isArray(values) && values.length === 1;
    const map = single ? tests.one : tests.many;
    const key = single ? values[0] : JSON.stringify(values);
    let test = map.get(key);
    if (test === undefined) {
      const slot = this.slot(c.attribute);
      test = this.memo((memo) => compileTest(c, path, slot, memo));
      if (test.op === OP_IN || test.op === OP_NOT_IN) this.index(slot, c.values ?? [], test.memo);
      map.set(key, test);
    }
    return test;
  }

  /**
   * The interned target list holding these keys, shared with every earlier list holding the same ones:
   * a long list pasted into many flags is indexed (and looked up per context) once. A verbatim copy,
   * the usual case, is found by a hash of a few of its keys and confirmed by one comparison per key,
   * without reading every character; only a list not seen in this order pays for hashing all of its
   * keys (to find the same keys reordered) and, if new, for indexing them.
   */
  private targetKeys(keys: readonly string[]): TargetKeys {
    const bySample = bucketOf(this.listsBySample, sampleHash(keys));
    for (const list of bySample) if (sameList(list.keys, keys)) return list.target;
    const byContent = bucketOf(this.listsByContent, contentHash(keys));
    let target = byContent.find((list) => sameKeys(new Set(list.keys), keys))?.target;
    if (target === undefined) {
      const slot = this.slot("key");
      const memo = this.memo((m) => targetKeysTest(slot, m)).memo;
      target = Object.freeze({ memo, size: this.index(slot, keys, memo) });
      byContent.push({ keys, target });
    }
    // Filed under this order too, so that further verbatim copies of it take the fast path.
    bySample.push({ keys, target });
    return target;
  }

  private slot(attribute: string): number {
    let slot = this.slots.get(attribute);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(attribute, slot);
    }
    return slot;
  }

  private serve(
    key: string,
    type: FlagType,
    serve: Serve | ProgressiveSplit,
    ruleId: string,
    fixedReason: Reason,
    result: (
      variant: string,
      reason: Reason,
      ruleId: string | undefined,
      at: string,
    ) => ReturnType<typeof served>,
    path: string,
  ): CompiledServe {
    if (typeof serve === "string") return { result: result(serve, fixedReason, ruleId, path), split: null };
    const weights = (table: SplitWeights, at: string): Weights => {
      // Bucketing order is the order written (splitEntries), never a JS object's key order.
      const entries = splitEntries(table);
      const n = entries.length;
      // Running sums, negative weights counted as 0 (as cumulativeWeights); the last is the total.
      const cumulative: number[] = new Array(n);
      let total = 0;
      let integers = true;
      for (let i = 0; i < n; i++) {
        const w = entries[i]!.weight;
        if (!Number.isInteger(w)) integers = false;
        if (w > 0) total += w;
        cumulative[i] = total;
      }
      if (!(total > 0) || !Number.isSafeInteger(total) || !integers) {
        throw new CompileError("INVALID_SPLIT", at, "split weights must be integers with a positive total");
      }
      const twice = repeatedVariant(entries);
      if (twice !== undefined) {
        throw new CompileError("INVALID_SPLIT", at, `split lists variant "${twice}" more than once`);
      }
      const results: ReturnType<typeof served>[] = new Array(n);
      for (let i = 0; i < n; i++) results[i] = result(entries[i]!.variant, "SPLIT", ruleId, at);
      return { bounds: hashBounds(cumulative), results };
    };
    const stepDefs = (serve as ProgressiveSplit).steps;
    let steps: CompiledSplit["steps"] = NO_STEPS;
    if (stepDefs !== undefined && stepDefs.length > 0) {
      const sorted = stepDefs.map((s, i) => {
        const at = parseInstant(s.at, `${path}.steps[${i}].at`);
        return { at, weights: weights(s.split, `${path}.steps[${i}].split`) };
      });
      steps = sorted.sort((a, b) => a.at - b.at);
      // Steps held back (a guard's bake; only a fallthrough has steps): the first `held` at most.
      const held = this.overrides.steps?.get(key);
      if (held !== undefined && held < steps.length) steps = steps.slice(0, Math.max(0, held));
    }
    const by = resolveAttribute(splitByOf(serve), `${path}.by`);
    const byKey = by.src === SRC_KEY;
    const salt = hashPrefix(utf8Binary(splitSaltOf(serve, key)));
    const split: CompiledSplit = {
      h1: salt.h1,
      carry: salt.carry,
      carryLength: salt.carryLength,
      length: salt.length,
      byKey,
      src: by.src,
      name: by.name,
      guarded: by.guarded,
      base: weights(serve.split, `${path}.split`),
      steps,
      missing: splitKeyMissing(key, type, byKey, splitByOf(serve), ruleId),
    };
    return { result: null, split };
  }
}

const NO_RULES: readonly Rule[] = Object.freeze([]);

/** The first variant a split lists twice, if any: pairwise for the usual few, a Set for long lists. */
function repeatedVariant(entries: readonly { variant: string }[]): string | undefined {
  const n = entries.length;
  if (n > 8) {
    const seen = new Set<string>();
    for (const { variant } of entries) {
      if (seen.has(variant)) return variant;
      seen.add(variant);
    }
    return undefined;
  }
  for (let i = 1; i < n; i++) {
    const v = entries[i]!.variant;
    for (let j = 0; j < i; j++) if (entries[j]!.variant === v) return v;
  }
  return undefined;
}
const NO_STEPS: CompiledSplit["steps"] = Object.freeze([]);

/** Placeholder of a memo entry whose decider is being built (see Compiler.memo). */
const NO_DECIDER = Object.freeze(
  segmentTest({ name: "", memo: -1, included: null, excluded: null, rules: [] }),
);

/** The list of `map` at `id`, created empty if missing. */
function bucketOf<T>(map: Map<number, T[]>, id: number): T[] {
  let bucket = map.get(id);
  if (bucket === undefined) {
    bucket = [];
    map.set(id, bucket);
  }
  return bucket;
}

/** FNV-1a of a string's UTF-16 units, continuing from `h`. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Up to this many keys, spread over a target list, go into its sample hash. */
const SAMPLES = 8;

/** A hash of a list's length and of a few of its keys in order (first, last and evenly between). */
function sampleHash(keys: readonly string[]): number {
  const n = keys.length;
  let h = Math.imul(n, 0x9e3779b1);
  const samples = Math.min(n, SAMPLES);
  for (let s = 0; s < samples; s++) {
    const k = keys[samples === 1 ? 0 : Math.floor((s * (n - 1)) / (samples - 1))]!;
    h = fnv(Math.imul(h ^ k.length, 0x01000193), k);
  }
  return h;
}

/** An order-insensitive hash of all of a list's keys. */
function contentHash(keys: readonly string[]): number {
  let hash = 0;
  for (let i = 0; i < keys.length; i++) {
    const h = fnv(0x811c9dc5, keys[i]!);
    hash = (hash + (h ^ (h >>> 15))) | 0;
  }
  return hash;
}

/** Whether two lists hold the same keys in the same order. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether a list holds exactly the keys of a set (duplicates in the list aside). */
function sameKeys(set: ReadonlySet<string>, keys: readonly string[]): boolean {
  if (keys.length < set.size) return false;
  for (let i = 0; i < keys.length; i++) if (!set.has(keys[i]!)) return false;
  // Every key is in the set; the set has no key the list lacks unless the list repeats some.
  return keys.length === set.size || new Set(keys).size === set.size;
}

/**
 * What the unsigned guard state may change in a compile (src/guard/apply.ts decides what is honoured):
 * flags served their off variant (reason DISABLED, ruleId "guard"), and how many progressive steps of
 * a flag's fallthrough may serve. Both only move a flag back, never beyond what the document says.
 */
export interface CompileOverrides {
  readonly tripped?: ReadonlySet<string>;
  readonly steps?: ReadonlyMap<string, number>;
}

const NO_OVERRIDES: CompileOverrides = Object.freeze({});

/** Compiles a validated flags document; throws CompileError if it is structurally impossible. */
export function compile(doc: FlagsDocument, overrides?: CompileOverrides): CompiledFlags {
  return new Compiler(doc, overrides).run();
}

/**
 * The same compile, a slice of `slice` flags per `next()`; the last returns the compiled flags. Lets
 * a fresh isolate compile between requests (src/snapshot/verify.ts, deferCompile) so that no request
 * waits for more than one slice.
 */
export function compileInSlices(
  doc: FlagsDocument,
  slice: number,
): Generator<undefined, CompiledFlags, undefined> {
  return new Compiler(doc).steps(slice);
}
