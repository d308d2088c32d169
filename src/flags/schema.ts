/**
 * The valibot schema of a flags document: shapes, names and formats. Pure, no I/O. The publisher
 * validates with it; `npm run schema` compiles it into the JSON Schema for editors and into the
 * worker's shape check (src/flags/shape.generated.ts), so change it, then regenerate.
 */
import * as v from "valibot";
import { isJsonValue, isMap } from "./json-value";
import { describe, didYouMean, listOf } from "./messages";
import {
  type FlagKind,
  type FlagsDocument,
  type FlagType,
  GATE_METHODS,
  GUARD_METRICS,
  type JsonValue,
  OPERATORS,
} from "./types";

/** Names of flags, segments and variants (and rule ids). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const FLAG_TYPES = ["boolean", "string", "number", "json"] as const satisfies readonly FlagType[];
export const FLAG_KINDS = [
  "release",
  "ops",
  "experiment",
  "permission",
  "migration",
] as const satisfies readonly FlagKind[];
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export const CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"] as const;
const COUNTRY = /^[A-Z]{2}$/;
const REGION = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** An http(s) URL with a host: dashboards and runbooks are opened by people, so nothing else. */
export const HTTP_URL = /^https?:\/\/[^\s/?#]+[^\s]*$/;
/** A URL or an issue reference: `#123`, `owner/repo#123` or a tracker key like `PROJ-123`. */
export const ISSUE_REF =
  /^(https?:\/\/[^\s/?#]+[^\s]*|([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)?#\d+|[A-Z][A-Z0-9_]*-\d+)$/;
export const START_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
export const END_TIME = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

type AnySchema = v.GenericSchema;
type Dataset = Parameters<AnySchema["~run"]>[0];

/** An issue in valibot's shape, for the checks valibot itself cannot express. */
function issue(
  input: unknown,
  expected: string,
  message: string,
  path?: [v.IssuePathItem, ...v.IssuePathItem[]],
): v.BaseIssue<unknown> {
  return { kind: "schema", type: "custom", input, expected, received: describe(input), message, path };
}

/**
 * valibot's object and record schemas accept arrays, and a strict object reports only its first
 * unknown key. This wraps one so that a list is an error and every unknown key is reported.
 */
function tightened<S extends AnySchema>(schema: S, notAList: string, known?: readonly string[]): S {
  const run = schema["~run"];
  const tight: AnySchema["~run"] = (dataset: Dataset, config) => {
    const input = dataset.value;
    if (Array.isArray(input)) {
      dataset.typed = false;
      (dataset as { issues?: v.BaseIssue<unknown>[] }).issues = [issue(input, "Object", notAList)];
      return dataset as unknown as ReturnType<AnySchema["~run"]>;
    }
    const out = run.call(schema, dataset, config);
    if (known && out.issues && isMap(input)) {
      let first = true;
      for (const key in input) {
        if (known.includes(key)) continue;
        // valibot already reported the first one.
        if (first) {
          first = false;
          continue;
        }
        const path: [v.IssuePathItem] = [{ type: "object", origin: "key", input, key, value: input[key] }];
        (out.issues as v.BaseIssue<unknown>[]).push(issue(key, "never", unknownField(key, known), path));
      }
    }
    return out;
  };
  return Object.assign(schema, { "~run": tight });
}

function unknownField(key: string, known: readonly string[]): string {
  const suggestion = didYouMean(key, known);
  return `unknown field ${describe(key)}${suggestion || `; expected one of: ${listOf(known)}`}`;
}

/** A strict object: unknown fields are errors, with a suggestion when they look like a typo. */
function strict<const E extends v.ObjectEntries>(entries: E, what: string) {
  const known = Object.keys(entries);
  const schema = v.strictObject(entries, (i) => {
    if (i.expected === "never") return unknownField(String(i.input), known);
    if (i.expected !== "Object") return `${what} is missing required field ${i.expected}`;
    return `${what} must be a map of fields, got ${describe(i.input)}`;
  });
  return tightened(schema, `${what} must be a map of fields, got a list`, known);
}

/** A map of names to values, e.g. the `flags` map. */
function map<K extends v.GenericSchema<string>, V extends AnySchema>(key: K, value: V, what: string) {
  return tightened(
    v.record(key, value, (i) => `${what} must be a map, got ${describe(i.input)}`),
    `${what} must be a map, got a list`,
  );
}

/**
 * A union of a map schema and a list schema that, for a map or a list, answers with that option alone,
 * so a problem inside reads as that option's own message rather than the union's.
 */
function byKind<M extends AnySchema, L extends AnySchema>(
  mapOption: M,
  listOption: L,
  message: v.ErrorMessage<v.UnionIssue<v.BaseIssue<unknown>>>,
) {
  const schema = v.union([mapOption, listOption], message);
  const run = schema["~run"];
  const pick: AnySchema["~run"] = (dataset: Dataset, config) => {
    const input = dataset.value;
    if (Array.isArray(input)) return listOption["~run"](dataset, config);
    if (isMap(input)) return mapOption["~run"](dataset, config);
    return run.call(schema, dataset, config) as ReturnType<AnySchema["~run"]>;
  };
  return Object.assign(schema, { "~run": pick });
}

function list<I extends AnySchema>(item: I, what: string) {
  return v.array(item, (i) => `${what} must be a list, got ${describe(i.input)}`);
}

function oneOf<const T extends readonly string[]>(options: T, what: string) {
  return v.picklist(
    options,
    (i) => `unknown ${what} ${describe(i.input)}; expected one of: ${listOf(options)}`,
  );
}

function name(what: string) {
  return v.pipe(
    v.string(`${what} name must be a string`),
    v.regex(
      NAME_PATTERN,
      (i) =>
        `invalid ${what} name ${describe(i.input)}: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    ),
  );
}

function text(what: string) {
  return v.string((i) => `${what} must be a string, got ${describe(i.input)}`);
}

function pattern(re: RegExp, what: string, example: string) {
  return v.pipe(
    text(what),
    v.regex(re, (i) => `${what} ${describe(i.input)} must look like ${example}`),
  );
}

/** Any JSON value (a variant's value). */
export const JsonValueSchema = v.custom<JsonValue>(
  (value) => isJsonValue(value),
  (i) =>
    `variant value must be plain JSON (null, true/false, a number, a string, a list or a map), got ${describe(i.input)}`,
);

const Scalar = v.union(
  [
    v.string(),
    v.pipe(
      v.number(),
      v.finite((i) => `condition values must be finite numbers, got ${i.input}`),
    ),
    v.boolean(),
  ],
  (i) => `condition values must be strings, numbers or true/false, got ${describe(i.input)}`,
);

const Weight = v.pipe(
  v.number((i) => `split weight must be a whole number >= 0, got ${describe(i.input)}`),
  v.integer((i) => `split weight must be a whole number >= 0, got ${describe(i.input)}`),
  v.minValue(0, (i) => `split weight must be a whole number >= 0, got ${describe(i.input)}`),
);
const SplitEntrySchema = strict({ variant: name("variant"), weight: Weight }, "split entry");
/** A map in written order, or a list of entries: the form whose order survives JSON (see SplitWeights). */
const Weights = byKind(
  map(name("variant"), Weight, "split"),
  list(SplitEntrySchema, "split"),
  (i) =>
    `split must map variant names to weights (like { on: 25, off: 75 }) or list { variant, weight } entries, got ${describe(i.input)}`,
);
const Attribute = v.pipe(text("attribute"), v.nonEmpty("attribute must not be empty"));

export const AttributeConditionSchema = strict(
  { attribute: Attribute, op: oneOf(OPERATORS, "operator"), values: v.optional(list(Scalar, "values")) },
  "condition",
);
export const SegmentConditionSchema = strict(
  { segment: text("segment"), negate: v.optional(v.boolean("negate must be true or false")) },
  "segment condition",
);
const AnyCondition = v.union([AttributeConditionSchema, SegmentConditionSchema]);
/** A condition: segment membership if it names a `segment`, else an attribute test. */
export const ConditionSchema = v.lazy((input: unknown) =>
  input === undefined
    ? AnyCondition
    : isMap(input) && "segment" in input
      ? SegmentConditionSchema
      : AttributeConditionSchema,
);

const splitEntries = { split: Weights, by: v.optional(Attribute), salt: v.optional(text("salt")) };
export const SplitSchema = strict(splitEntries, "split");
export const RolloutStepSchema = strict({ at: text("step time"), split: Weights }, "rollout step");
export const ProgressiveSplitSchema = strict(
  { ...splitEntries, steps: v.optional(list(RolloutStepSchema, "steps")) },
  "split",
);

/** A variant name where a split would also do: the message names both (`fallthrough: true` is common). */
function variantRef(what: string) {
  return v.string((i) => `${what} must be a variant name (like "on") or a split, got ${describe(i.input)}`);
}
const ServeRef = variantRef("serve");
const AnyServe = v.union([ServeRef, SplitSchema]);
/** A variant name or a split. */
export const ServeSchema = v.lazy((input: unknown) =>
  input === undefined ? AnyServe : isMap(input) ? SplitSchema : ServeRef,
);
const FallthroughRef = variantRef("fallthrough");
const AnyFallthrough = v.union([FallthroughRef, ProgressiveSplitSchema]);
/** A variant name or a (progressive) split. */
export const FallthroughSchema = v.lazy((input: unknown) =>
  input === undefined ? AnyFallthrough : isMap(input) ? ProgressiveSplitSchema : FallthroughRef,
);

export const RuleSchema = strict(
  {
    id: v.optional(name("rule id")),
    description: v.optional(text("description")),
    when: list(ConditionSchema, "when"),
    serve: ServeSchema,
  },
  "rule",
);

export const WeeklyWindowSchema = strict(
  {
    days: v.pipe(list(oneOf(DAYS, "day"), "days"), v.nonEmpty("days must list at least one day")),
    start: pattern(START_TIME, "start time", '"HH:MM" (00:00 to 23:59)'),
    end: pattern(END_TIME, "end time", '"HH:MM" (00:00 to 24:00)'),
  },
  "window",
);

export const ScheduleSchema = strict(
  {
    from: v.optional(text("from")),
    until: v.optional(text("until")),
    timezone: v.optional(text("timezone")),
    windows: v.optional(list(WeeklyWindowSchema, "windows")),
  },
  "schedule",
);

export const PrerequisiteSchema = strict(
  {
    flag: text("flag"),
    variants: v.pipe(
      list(text("variant"), "variants"),
      v.nonEmpty("variants must list at least one variant"),
    ),
  },
  "prerequisite",
);

export const GeoListsSchema = strict(
  {
    countries: v.optional(
      list(pattern(COUNTRY, "country code", 'two upper-case letters, e.g. "DE"'), "countries"),
    ),
    // Typed as the contract's string[]; the picklist still checks the values and feeds the JSON Schema.
    continents: v.optional(list(oneOf(CONTINENTS, "continent") as v.GenericSchema<string>, "continents")),
    regions: v.optional(list(pattern(REGION, "region", '"<country>-<code>", e.g. "US-CA"'), "regions")),
  },
  "geo list",
);

export const GeoRuleSchema = strict(
  { allow: v.optional(GeoListsSchema), block: v.optional(GeoListsSchema), serve: v.optional(text("serve")) },
  "geo",
);

/** A duration like "30s", "10m", "2h" or "1d" (guard windows and bake times). */
export const DURATION = /^[1-9]\d{0,5}(s|m|h|d)$/;

function positive(what: string) {
  return v.pipe(
    v.number((i) => `${what} must be a number, got ${describe(i.input)}`),
    v.finite((i) => `${what} must be a finite number, got ${i.input}`),
    v.minValue(0, (i) => `${what} must be >= 0, got ${i.input}`),
  );
}

export const GuardRelativeSchema = strict(
  { ratio: positive("ratio"), margin: v.optional(positive("margin")) },
  "relative",
);

export const GuardSchema = strict(
  {
    metric: oneOf(GUARD_METRICS, "guard metric"),
    event: v.optional(text("event")),
    percentile: v.optional(
      v.pipe(
        v.number((i) => `percentile must be a number from 50 to 99.9, got ${describe(i.input)}`),
        v.minValue(50, (i) => `percentile must be from 50 to 99.9, got ${i.input}`),
        v.maxValue(99.9, (i) => `percentile must be from 50 to 99.9, got ${i.input}`),
      ),
    ),
    relative: v.optional(GuardRelativeSchema),
    threshold: v.optional(positive("threshold")),
    control: v.optional(text("control")),
    minSamples: v.optional(
      v.pipe(
        v.number((i) => `minSamples must be a whole number >= 1, got ${describe(i.input)}`),
        v.integer((i) => `minSamples must be a whole number >= 1, got ${describe(i.input)}`),
        v.minValue(1, (i) => `minSamples must be a whole number >= 1, got ${describe(i.input)}`),
      ),
    ),
    window: v.optional(pattern(DURATION, "window", 'a duration like "10m" or "1h"')),
    bake: v.optional(pattern(DURATION, "bake", 'a duration like "30m" or "2h"')),
  },
  "guard",
);

const TargetKey = v.string((i) => {
  const hint = typeof i.input === "number" ? ` (quote it: "${i.input}")` : "";
  return `targeting keys must be strings, got ${describe(i.input)}${hint}`;
});

export const FlagSchema = strict(
  {
    description: v.optional(text("description")),
    owner: v.optional(text("owner")),
    kind: v.optional(oneOf(FLAG_KINDS, "kind")),
    expires: v.optional(pattern(DATE, "expires", "a date YYYY-MM-DD")),
    ticket: v.optional(text("ticket")),
    tags: v.optional(list(text("tag"), "tags")),
    created: v.optional(pattern(DATE, "created", "a date YYYY-MM-DD")),
    environments: v.optional(
      v.pipe(
        list(name("environment"), "environments"),
        v.nonEmpty("environments must list at least one environment (or leave it out for every one)"),
      ),
    ),
    rolloutPlan: v.optional(text("rolloutPlan")),
    dashboard: v.optional(
      pattern(HTTP_URL, "dashboard", 'an http(s) URL, e.g. "https://grafana.example.com/d/abc"'),
    ),
    cleanupIssue: v.optional(
      pattern(
        ISSUE_REF,
        "cleanupIssue",
        'a URL or an issue reference like "#123", "org/repo#123" or "PROJ-123"',
      ),
    ),
    runbook: v.optional(
      pattern(HTTP_URL, "runbook", 'an http(s) URL, e.g. "https://wiki.example.com/runbooks/x"'),
    ),
    clientVisible: v.optional(v.boolean("clientVisible must be true or false")),
    type: v.optional(oneOf(FLAG_TYPES, "type")),
    enabled: v.optional(v.boolean("enabled must be true or false")),
    variants: v.optional(
      v.pipe(
        map(name("variant"), JsonValueSchema, "variants"),
        v.minEntries(1, "variants must not be empty"),
      ),
    ),
    offVariant: v.optional(text("offVariant")),
    schedule: v.optional(ScheduleSchema),
    prerequisites: v.optional(list(PrerequisiteSchema, "prerequisites")),
    geo: v.optional(GeoRuleSchema),
    targets: v.optional(map(v.string(), list(TargetKey, "targets"), "targets")),
    rules: v.optional(list(RuleSchema, "rules")),
    fallthrough: FallthroughSchema,
    guard: v.optional(GuardSchema),
  },
  "flag",
);

const NoNestedSegment = v.custom<never>(
  () => false,
  "a segment rule cannot use another segment: list attribute conditions only",
);
/** Segment rules take attribute conditions only, so segment membership never recurses. */
export const SegmentRuleConditionSchema = v.lazy((input: unknown) =>
  isMap(input) && "segment" in input ? NoNestedSegment : AttributeConditionSchema,
);
export const SegmentRuleSchema = strict({ when: list(SegmentRuleConditionSchema, "when") }, "segment rule");

export const SegmentSchema = strict(
  {
    description: v.optional(text("description")),
    included: v.optional(list(TargetKey, "included")),
    excluded: v.optional(list(TargetKey, "excluded")),
    rules: v.optional(list(SegmentRuleSchema, "rules")),
  },
  "segment",
);

export const GateDenyStatusSchema = strict(
  {
    status: v.pipe(
      v.number((i) => `deny status must be a number from 400 to 599, got ${describe(i.input)}`),
      v.integer("deny status must be a whole number from 400 to 599"),
      v.minValue(400, (i) => `deny status must be from 400 to 599, got ${i.input}`),
      v.maxValue(599, (i) => `deny status must be from 400 to 599, got ${i.input}`),
    ),
    body: v.optional(text("body")),
    json: v.optional(map(v.string(), JsonValueSchema, "json")),
  },
  "deny",
);
export const GateDenyRedirectSchema = strict(
  {
    redirect: v.pipe(text("redirect"), v.nonEmpty("redirect must not be empty")),
    status: v.optional(
      v.picklist(
        [301, 302, 303, 307, 308],
        (i) => `redirect status must be 301, 302, 303, 307 or 308, got ${describe(i.input)}`,
      ),
    ),
  },
  "redirect",
);
export const GateDenyRewriteSchema = strict(
  { rewrite: v.pipe(text("rewrite"), v.nonEmpty("rewrite must not be empty")) },
  "rewrite",
);
const AnyDeny = v.union([GateDenyStatusSchema, GateDenyRedirectSchema, GateDenyRewriteSchema]);
/** A status answer, a redirect (has `redirect`) or a rewrite (has `rewrite`). */
export const GateDenySchema = v.lazy((input: unknown) =>
  input === undefined
    ? AnyDeny
    : isMap(input) && "redirect" in input
      ? GateDenyRedirectSchema
      : isMap(input) && "rewrite" in input
        ? GateDenyRewriteSchema
        : GateDenyStatusSchema,
);

export const GateSchema = strict(
  {
    id: v.optional(name("gate id")),
    pattern: v.pipe(text("pattern"), v.nonEmpty("pattern must not be empty")),
    host: v.optional(v.pipe(text("host"), v.nonEmpty("host must not be empty"))),
    methods: v.optional(
      v.pipe(
        list(oneOf(GATE_METHODS, "method"), "methods"),
        v.nonEmpty("methods must list at least one method (or leave it out for every method)"),
      ),
    ),
    flag: text("flag"),
    allow: v.pipe(list(text("variant"), "allow"), v.nonEmpty("allow must list at least one variant")),
    deny: GateDenySchema,
    onUnavailable: v.optional(oneOf(["deny", "allow"], "onUnavailable")),
    inject: v.optional(v.boolean("inject must be true or false")),
    caseSensitive: v.optional(v.boolean("caseSensitive must be true or false")),
  },
  "gate",
);

/** The whole flags document. */
export const FlagsDocumentSchema = strict(
  {
    $schema: v.optional(text("$schema")),
    flags: map(name("flag"), FlagSchema, "flags"),
    segments: v.optional(map(name("segment"), SegmentSchema, "segments")),
    gates: v.optional(list(GateSchema, "gates")),
  },
  "the flags file",
);

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
/** Compile-time proof that the schema and the hand-written contract describe the same documents. */
export type SchemaMatchesContract = Expect<Same<v.InferOutput<typeof FlagsDocumentSchema>, FlagsDocument>>;
