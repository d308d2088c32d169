/**
 * A plain, readable interpreter of a flags document that records every step it takes: the trace
 * behind POST /v1/explain. It walks the definitions as written (not the compiled programs), in the
 * contract's order, but decides each test with the engine's own pure helpers (attribute resolution,
 * operators, schedules, murmur, bucketing, result factories), so its answers cannot drift from
 * src/eval; a property test holds the two to the same result for any document, context and moment.
 * Never on the hot path: it allocates freely for clarity. Pure, no I/O; `now` is an argument.
 */
import { readAttribute, resolveAttribute, SRC_KEY } from "../eval/attributes";
import { bucketKeyOf, bucketOf, cumulativeWeights, pickVariant, utf8Binary } from "../eval/bucket";
import { murmur3 } from "../eval/murmur";
import { compileTest, isScalar, OP_IN, OP_NOT_IN, testValue } from "../eval/operators";
import {
  flagNotFound,
  PREREQUISITE_PREFIX,
  RULE_FALLTHROUGH,
  RULE_GEO,
  RULE_SCHEDULE,
  RULE_TARGET,
  served,
  splitKeyMissing,
} from "../eval/reasons";
import { compileSchedule, parseInstant, scheduleActive, type ZoneClock } from "../eval/schedule";
import type { EvaluationContext, EvaluationResult, GeoFacts, Reason } from "../eval/types";
import {
  DEFAULT_TIMEZONE,
  flagTypeOf,
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
  ProgressiveSplit,
  Serve,
  SplitWeights,
} from "../flags/types";
import type {
  AnyConditionTrace,
  ConditionTrace,
  ExplainedResult,
  FlagTrace,
  SegmentConditionTrace,
  ServeTrace,
  SplitTrace,
  StepTrace,
} from "./trace";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** Per explanation: the document, the context, the moment, and traces already made (prerequisites). */
interface Walk {
  readonly doc: FlagsDocument;
  readonly ctx: EvaluationContext;
  readonly now: number;
  readonly done: Map<string, FlagTrace>;
  readonly clocks: Map<string, ZoneClock>;
}

/** Explains one flag of a validated document for `ctx` at `now`. An unknown key: FLAG_NOT_FOUND. */
export function explainFlag(doc: FlagsDocument, key: string, ctx: EvaluationContext, now: number): FlagTrace {
  return trace(walkOf(doc, ctx, now), key);
}

/** Explains every flag of a validated document, in key order (as evaluateAll reports them). */
export function explainAll(doc: FlagsDocument, ctx: EvaluationContext, now: number): FlagTrace[] {
  const walk = walkOf(doc, ctx, now);
  return Object.keys(doc.flags)
    .sort()
    .map((key) => trace(walk, key));
}

function walkOf(doc: FlagsDocument, ctx: EvaluationContext, now: number): Walk {
  return { doc, ctx, now, done: new Map(), clocks: new Map() };
}

function trace(walk: Walk, key: string): FlagTrace {
  const known = walk.done.get(key);
  if (known !== undefined) return known;
  const def = Object.hasOwn(walk.doc.flags, key) ? walk.doc.flags[key] : undefined;
  const made =
    def === undefined
      ? { key, steps: [{ step: "flag", found: false } as const], result: plain(flagNotFound(key)) }
      : flagTrace(walk, key, def);
  walk.done.set(key, made);
  return made;
}

/** The engine's result as plain data (no `key`, no undefined fields). */
function plain(r: EvaluationResult): ExplainedResult {
  const out: ExplainedResult = { value: r.value, reason: r.reason };
  if (r.variant !== undefined) out.variant = r.variant;
  if (r.errorCode !== undefined) out.errorCode = r.errorCode;
  if (r.errorMessage !== undefined) out.errorMessage = r.errorMessage;
  if (r.ruleId !== undefined) out.ruleId = r.ruleId;
  if (r.type !== undefined) out.type = r.type;
  return out;
}

function flagTrace(walk: Walk, key: string, def: FlagDefinition): FlagTrace {
  const steps: StepTrace[] = [];
  const type = flagTypeOf(def) as FlagType;
  const variants = variantsOf(def);
  const result = (variant: string, reason: Reason, ruleId: string | undefined): FlagTrace => ({
    key,
    steps,
    result: plain(served(key, type, variant, variants[variant]!, reason, ruleId)),
  });
  const off = offVariantOf(def);

  // 2. The kill switch.
  const enabled = isEnabled(def);
  steps.push({ step: "enabled", enabled, decides: !enabled });
  if (!enabled) return result(off, "DISABLED", undefined);

  // 3. The schedule.
  if (def.schedule !== undefined) {
    const s = scheduleStep(walk, def);
    steps.push(s);
    if (s.decides) return result(off, "DISABLED", RULE_SCHEDULE);
  }

  // 4. Prerequisites, each with its own trace.
  for (const p of def.prerequisites ?? []) {
    const t = trace(walk, p.flag);
    const got = t.result.variant;
    const met = got !== undefined && p.variants.includes(got);
    steps.push({
      step: "prerequisite",
      flag: p.flag,
      variants: p.variants,
      ...(got === undefined ? {} : { got }),
      met,
      trace: t,
      decides: !met,
    });
    if (!met) return result(off, "TARGETING_MATCH", PREREQUISITE_PREFIX + p.flag);
  }

  // Geo allow / block lists: before targeting, since a geo restriction is usually a legal one.
  const geoRule = def.geo;
  if (geoRule !== undefined && (geoRule.allow !== undefined || geoRule.block !== undefined)) {
    const geo = walk.ctx.geo ?? null;
    const blocked = geo !== null && geoRule.block !== undefined ? geoMatch(geoRule.block, geo) : undefined;
    const allowed = geo !== null && geoRule.allow !== undefined ? geoMatch(geoRule.allow, geo) : undefined;
    // Unknown geo is outside every allow list and inside no block list.
    const decides =
      geo === null
        ? geoRule.allow !== undefined
        : blocked !== undefined || (geoRule.allow !== undefined && allowed === undefined);
    const serve = geoRule.serve ?? off;
    steps.push({
      step: "geo",
      geo,
      ...(blocked === undefined ? {} : { blocked }),
      ...(allowed === undefined ? {} : { allowed }),
      hasBlock: geoRule.block !== undefined,
      hasAllow: geoRule.allow !== undefined,
      decides,
      ...(decides ? { serve } : {}),
    });
    if (decides) return result(serve, "TARGETING_MATCH", RULE_GEO);
  }

  // 5. Individual targets: the first list (in the order written) naming the key.
  const targetLists = Object.entries(def.targets ?? {}).filter(([, keys]) => keys.length > 0);
  if (targetLists.length > 0) {
    const k = readAttribute(walk.ctx, SRC_KEY, "", false);
    const lists = targetLists.map(([variant, keys]) => ({
      variant,
      size: new Set(keys).size,
      listed: k !== undefined && keys.includes(k as string),
    }));
    const hit = lists.find((l) => l.listed);
    steps.push({
      step: "targets",
      ...(typeof k === "string" ? { targetingKey: k } : {}),
      lists,
      decides: hit !== undefined,
    });
    if (hit !== undefined) return result(hit.variant, "TARGETING_MATCH", RULE_TARGET);
  }

  // 6. Rules in order: the first whose conditions all hold serves.
  const rules = def.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const id = ruleIdOf(rule, i);
    const conditions = rule.when.map((c) => conditionTrace(walk, c));
    const matched = conditions.every((c) => c.holds);
    const step: StepTrace & { step: "rule" } = {
      step: "rule",
      index: i,
      id,
      ...(rule.description === undefined ? {} : { description: rule.description }),
      conditions,
      matched,
      decides: matched,
    };
    steps.push(step);
    if (matched) {
      const out = serveTrace(walk, key, type, variants, rule.serve, id, "TARGETING_MATCH");
      step.serve = out.serve;
      return { key, steps, result: out.result };
    }
  }

  // 7. The fallthrough; STATIC where nothing could vary.
  const isStatic =
    def.schedule === undefined &&
    (def.prerequisites ?? []).length === 0 &&
    !(geoRule !== undefined && (geoRule.allow !== undefined || geoRule.block !== undefined)) &&
    targetLists.length === 0 &&
    rules.length === 0;
  const out = serveTrace(
    walk,
    key,
    type,
    variants,
    def.fallthrough,
    RULE_FALLTHROUGH,
    isStatic ? "STATIC" : "DEFAULT",
  );
  steps.push({ step: "fallthrough", serve: out.serve, decides: true });
  return { key, steps, result: out.result };
}

function scheduleStep(walk: Walk, def: FlagDefinition): StepTrace & { step: "schedule" } {
  const s = def.schedule!;
  const compiled = compileSchedule(s, "schedule", walk.clocks);
  const now = walk.now;
  const active = scheduleActive(compiled, now);
  const step: StepTrace & { step: "schedule" } = {
    step: "schedule",
    active,
    ...(s.from === undefined ? {} : { from: s.from }),
    ...(s.until === undefined ? {} : { until: s.until }),
    inBounds: now >= compiled.from && now < compiled.until,
    decides: !active,
  };
  const clock = compiled.clock;
  if (clock !== null && s.windows !== undefined) {
    const minute = clock.minuteAt(now);
    const hhmm = `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
    step.timezone = s.timezone ?? DEFAULT_TIMEZONE;
    step.localTime = `${DAYS[clock.dayAt(now)]} ${hhmm}`;
    step.windows = s.windows.map((w, i) => ({
      days: w.days,
      start: w.start,
      end: w.end,
      // The engine's own test, on a schedule of this one window and no bounds.
      open: scheduleActive({ from: -Infinity, until: Infinity, clock, windows: [compiled.windows[i]!] }, now),
    }));
  }
  return step;
}

/** Which entry of a geo list the location matches (`country DE`, `region US-NY`, `continent EU`). */
function geoMatch(lists: GeoLists, geo: GeoFacts): string | undefined {
  const country = geo.country;
  if (country !== undefined) {
    if ((lists.countries ?? []).includes(country)) return `country ${country}`;
    if (geo.regionCode !== undefined) {
      for (const r of lists.regions ?? []) {
        const dash = r.indexOf("-");
        if (dash > 0 && r.slice(0, dash) === country && r.slice(dash + 1) === geo.regionCode) {
          return `region ${r}`;
        }
      }
    }
  }
  if (geo.continent !== undefined && (lists.continents ?? []).includes(geo.continent)) {
    return `continent ${geo.continent}`;
  }
  return undefined;
}

function conditionTrace(walk: Walk, c: Condition): AnyConditionTrace {
  if ("segment" in c) return segmentTrace(walk, c.segment, c.negate === true);
  return attributeTrace(walk, c);
}

/** One attribute test, decided as the engine decides it (in / not_in as its value index does). */
function attributeTrace(walk: Walk, c: AttributeCondition): ConditionTrace {
  const slot = resolveAttribute(c.attribute, c.attribute);
  const read = readAttribute(walk.ctx, slot.src, slot.name, slot.guarded);
  const test = compileTest(c, c.attribute, 0, 0);
  const values = c.values ?? [];
  let holds: boolean;
  // The value index looks values up with SameValueZero, as includes does.
  if (test.op === OP_IN) holds = read !== undefined && values.includes(read as never);
  else if (test.op === OP_NOT_IN) holds = isScalar(read) && !values.includes(read as never);
  else holds = testValue(test, read);
  return {
    kind: "attribute",
    attribute: c.attribute,
    op: c.op,
    ...(c.values === undefined ? {} : { values: c.values }),
    ...(read === undefined ? {} : { read }),
    holds,
  };
}

function segmentTrace(walk: Walk, name: string, negate: boolean): SegmentConditionTrace {
  const def = walk.doc.segments?.[name];
  const key = walk.ctx.targetingKey;
  const answer = (member: boolean, via: string, rules?: SegmentConditionTrace["rules"]) => ({
    kind: "segment" as const,
    segment: name,
    negate,
    member,
    via,
    ...(rules === undefined ? {} : { rules }),
    holds: member !== negate,
  });
  if (typeof key === "string") {
    if ((def?.excluded ?? []).includes(key)) return answer(false, "excluded");
    if ((def?.included ?? []).includes(key)) return answer(true, "included");
  }
  const rules = (def?.rules ?? []).map((r, index) => {
    const conditions = r.when.map((c) => attributeTrace(walk, c));
    return { index, matched: conditions.every((c) => c.holds), conditions };
  });
  const hit = rules.find((r) => r.matched);
  return answer(hit !== undefined, hit === undefined ? "no match" : `rules[${hit.index}]`, rules);
}

/** What a rule or the fallthrough serves, and the engine's result for it. */
function serveTrace(
  walk: Walk,
  key: string,
  type: FlagType,
  variants: Record<string, unknown>,
  serve: Serve | ProgressiveSplit,
  ruleId: string,
  fixedReason: Reason,
): { serve: ServeTrace; result: ExplainedResult } {
  if (typeof serve === "string") {
    return {
      serve: { variant: serve },
      result: plain(served(key, type, serve, variants[serve] as never, fixedReason, ruleId)),
    };
  }
  const by = splitByOf(serve);
  const salt = splitSaltOf(serve, key);
  const slot = resolveAttribute(by, by);
  // The weights in force: the last progressive step reached (in time order), else the base.
  const steps = ((serve as ProgressiveSplit).steps ?? [])
    .map((s) => ({ at: s.at, ms: parseInstant(s.at, "steps"), split: s.split }))
    .sort((a, b) => a.ms - b.ms);
  let inForce = -1;
  for (let i = steps.length - 1; i >= 0; i--) {
    if (steps[i]!.ms <= walk.now) {
      inForce = i;
      break;
    }
  }
  const table: SplitWeights = inForce < 0 ? serve.split : steps[inForce]!.split;
  const entries = splitEntries(table);
  const cumulative = cumulativeWeights(entries.map((e) => e.weight));
  const total = cumulative.length === 0 ? 0 : cumulative[cumulative.length - 1]!;
  const split: SplitTrace = {
    by,
    salt,
    totalWeight: total,
    weights: inForce < 0 ? "base" : { step: inForce, at: steps[inForce]!.at },
    ...(steps.length === 0 ? {} : { steps: steps.map((s, i) => ({ at: s.at, inForce: i === inForce })) }),
    ranges: entries.map((e, i) => ({
      variant: e.variant,
      weight: e.weight,
      from: i === 0 ? 0 : cumulative[i - 1]!,
      to: cumulative[i]!,
    })),
  };
  // The bucket key: the targeting key (empty counts as missing), or a scalar attribute's text.
  const raw = readAttribute(walk.ctx, slot.src, slot.name, slot.guarded);
  const bucketKey = bucketKeyOf(raw, slot.src === SRC_KEY);
  if (bucketKey === undefined) {
    return { serve: { split }, result: plain(splitKeyMissing(key, type, slot.src === SRC_KEY, by, ruleId)) };
  }
  // As the engine hashes it: the salt's UTF-8, then the key's (DESIGN.md's formula).
  const hash = murmur3(utf8Binary(salt) + utf8Binary(bucketKey));
  const bucket = bucketOf(hash, total);
  const variant = entries[pickVariant(cumulative, bucket)]!.variant;
  split.bucketKey = bucketKey;
  split.hash = hash;
  split.bucket = bucket;
  split.variant = variant;
  return {
    serve: { split },
    result: plain(served(key, type, variant, variants[variant] as never, "SPLIT", ruleId)),
  };
}
