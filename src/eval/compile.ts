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
  SegmentDefinition,
  Serve,
  SplitWeights,
} from "../flags/types";
import { resolveAttribute, SRC_KEY } from "./attributes";
import { cumulativeWeights, hashBounds, utf8Binary } from "./bucket";
import type {
  CompiledCondition,
  CompiledFlag,
  CompiledGeo,
  CompiledPrerequisite,
  CompiledRule,
  CompiledSegment,
  CompiledServe,
  CompiledSplit,
  CompiledTargets,
  GeoMatcher,
  Weights,
} from "./compiled";
import { CompileError } from "./errors";
import { hashPrefix } from "./murmur";
import { type CompiledTest, compileTest, segmentTest } from "./operators";
import {
  failed,
  PREREQUISITE_PREFIX,
  RULE_FALLTHROUGH,
  RULE_GEO,
  RULE_SCHEDULE,
  RULE_TARGET,
  served,
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

  /** @internal size of the per-evaluation outcome memo (segments and distinct tests) */
  readonly memoCount: number;

  /** @internal number of distinct attribute references (size of the per-evaluation value memo) */
  readonly attributeCount: number;

  /**
   * @internal evaluate.ts's idle per-evaluation states (memo buffers), reused so that evaluating one
   * flag does not allocate or clear buffers sized to the whole snapshot. The only mutable part.
   */
  readonly idle: unknown[] = [];

  constructor(flags: readonly CompiledFlag[], memoCount: number, attributeCount: number) {
    this.memoCount = memoCount;
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
function frozenVariants(flag: FlagDefinition): Readonly<Record<string, JsonValue>> {
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

function geoMatcher(lists: GeoLists): GeoMatcher {
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
interface TestsOf {
  readonly one: Map<unknown, CompiledTest>;
  readonly many: Map<unknown, CompiledTest>;
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
  /** Target key sets by content hash (see keySet): identical lists share one Set. */
  private readonly keySets = new Map<number, Set<string>[]>();
  /** Outcome memo entries handed out so far (segments and distinct tests). */
  private memoCount = 0;
  private readonly order: Map<string, number>;

  constructor(private readonly doc: FlagsDocument) {
    const keys = Object.keys(doc.flags).sort();
    this.order = new Map(keys.map((k, i) => [k, i]));
  }

  run(): CompiledFlags {
    for (const [name, def] of Object.entries(this.doc.segments ?? {})) {
      this.segments.set(name, this.segment(name, def));
    }
    for (const key of this.order.keys()) this.flag(key, `flags.${key}`);
    return new CompiledFlags(
      [...this.order.keys()].map((k) => this.compiled.get(k)!),
      this.memoCount,
      this.slots.size,
    );
  }

  private segment(name: string, def: SegmentDefinition): CompiledSegment {
    const path = `segments.${name}`;
    return {
      name,
      memo: this.memoCount++,
      included: def.included !== undefined && def.included.length > 0 ? new Set(def.included) : null,
      excluded: def.excluded !== undefined && def.excluded.length > 0 ? new Set(def.excluded) : null,
      rules: (def.rules ?? []).map((r, i) =>
        r.when.map((c, j) => this.test(c, `${path}.rules[${i}].when[${j}]`)),
      ),
    };
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

    const disabled = isEnabled(def) ? null : result(off, "DISABLED", undefined, offPath);
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
      targets ??= [];
      targets.push(Object.freeze({ keys: this.keySet(keys), result: r }));
    }

    const rules: CompiledRule[] = (def.rules ?? []).map((rule, i) => {
      const at = `${path}.rules[${i}]`;
      const id = ruleIdOf(rule, i);
      const serve = this.serve(key, type, rule.serve, id, "TARGETING_MATCH", result, `${at}.serve`);
      return {
        result: serve.result,
        split: serve.split,
        conditions: rule.when.map((c, j) => this.condition(c, `${at}.when[${j}]`)),
      };
    });

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
      gated:
        disabled !== null || schedule !== null || prerequisites !== null || geo !== null || targets !== null,
      disabled,
      schedule,
      scheduleOff,
      prerequisites,
      geo,
      targets,
      rules,
      fallthroughResult: fallthrough.result,
      fallthroughSplit: fallthrough.split,
      variants,
    });
  }

  private condition(c: Condition, path: string): CompiledCondition {
    if ("segment" in c) {
      const segment = this.segments.get(c.segment);
      if (segment === undefined) throw new CompileError("UNKNOWN_SEGMENT", path, `no segment "${c.segment}"`);
      return segmentTest(segment, c.negate === true);
    }
    return this.test(c, path);
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
      test = compileTest(c, path, this.slot(c.attribute), this.memoCount++);
      map.set(key, test);
    }
    return test;
  }

  /**
   * The Set of a target list, shared with every earlier list holding the same keys: a long list copied
   * into many flags is stored once. Found by an order-insensitive hash of the keys, then compared.
   */
  private keySet(keys: readonly string[]): Set<string> {
    let hash = 0;
    for (const k of keys) {
      let h = 0x811c9dc5;
      for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
      hash = (hash + (h ^ (h >>> 15))) | 0;
    }
    let bucket = this.keySets.get(hash);
    if (bucket !== undefined) {
      for (const set of bucket) if (sameKeys(set, keys)) return set;
    } else {
      bucket = [];
      this.keySets.set(hash, bucket);
    }
    const set = new Set(keys);
    bucket.push(set);
    return set;
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
      const cumulative = cumulativeWeights(entries.map((e) => e.weight));
      const total = cumulative.length === 0 ? 0 : cumulative[cumulative.length - 1]!;
      if (!(total > 0) || !Number.isSafeInteger(total) || entries.some((e) => !Number.isInteger(e.weight))) {
        throw new CompileError("INVALID_SPLIT", at, "split weights must be integers with a positive total");
      }
      const names = new Set<string>();
      for (const { variant } of entries) {
        if (names.has(variant)) {
          throw new CompileError("INVALID_SPLIT", at, `split lists variant "${variant}" more than once`);
        }
        names.add(variant);
      }
      return {
        bounds: hashBounds(cumulative),
        results: entries.map((e) => result(e.variant, "SPLIT", ruleId, at)),
      };
    };
    const steps = ((serve as ProgressiveSplit).steps ?? []).map((s, i) => {
      const at = parseInstant(s.at, `${path}.steps[${i}].at`);
      return { at, weights: weights(s.split, `${path}.steps[${i}].split`) };
    });
    steps.sort((a, b) => a.at - b.at);
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
      missing: failed(
        key,
        type,
        byKey ? "TARGETING_KEY_MISSING" : "INVALID_CONTEXT",
        byKey ? "the split needs a targeting key" : `the split needs attribute "${splitByOf(serve)}"`,
        ruleId,
      ),
    };
    return { result: null, split };
  }
}

/** Whether a list holds exactly the keys of a set (duplicates in the list aside). */
function sameKeys(set: ReadonlySet<string>, keys: readonly string[]): boolean {
  if (keys.length < set.size) return false;
  for (const k of keys) if (!set.has(k)) return false;
  // Every key is in the set; the set has no key the list lacks unless the list repeats some.
  return keys.length === set.size || new Set(keys).size === set.size;
}

/** Compiles a validated flags document; throws CompileError if it is structurally impossible. */
export function compile(doc: FlagsDocument): CompiledFlags {
  return new Compiler(doc).run();
}
