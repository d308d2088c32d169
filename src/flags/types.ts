/**
 * The flags-file definition: the shape people write by hand (YAML or JSON) after parsing and
 * normalisation. Pure types, no I/O. The snapshot carries exactly this shape, so the worker and the
 * publisher agree on it by construction.
 */

/** A JSON value a variant may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type FlagType = "boolean" | "string" | "number" | "json";

export type FlagKind = "release" | "ops" | "experiment" | "permission" | "migration";

/**
 * Condition operators. Values are always a list; `exists`/`not_exists` take none. A condition on a
 * missing attribute is false for every operator except `not_exists` (including `not_in`).
 * - in / not_in / equals / not_equals: exact match (equals/not_equals take exactly one value)
 * - starts_with / ends_with / contains: string tests, any of the values
 * - matches: regular expression (bounded input length), any of the values
 * - lt / lte / gt / gte: numeric (numeric strings are accepted on the attribute side)
 * - before / after: dates (ISO 8601 strings or epoch milliseconds)
 * - semver_eq / semver_lt / semver_lte / semver_gt / semver_gte: semantic versions
 * - exists / not_exists: attribute presence
 */
export const OPERATORS = [
  "in",
  "not_in",
  "equals",
  "not_equals",
  "starts_with",
  "ends_with",
  "contains",
  "matches",
  "lt",
  "lte",
  "gt",
  "gte",
  "before",
  "after",
  "semver_eq",
  "semver_lt",
  "semver_lte",
  "semver_gt",
  "semver_gte",
  "exists",
  "not_exists",
] as const;
export type Operator = (typeof OPERATORS)[number];

export type ScalarValue = string | number | boolean;

/**
 * An attribute reference. The namespace is part of the name and is resolved at compile time:
 * - `key`                    the targeting key
 * - `geo.<field>`            edge geolocation (country, continent, region, regionCode, city, postalCode,
 *                            timezone, asn, isEU, latitude, longitude, colo) - trusted, from the edge
 * - `identity.<claim>`       a claim of the verified identity token - trusted
 * - anything else            a client-supplied attribute - untrusted
 * A client attribute can therefore never stand in for geo or identity: `geo.country` always reads geo.
 */
export type AttributeRef = string;

/** An attribute test. `values` is required for every operator except exists/not_exists. */
export interface AttributeCondition {
  attribute: AttributeRef;
  op: Operator;
  values?: ScalarValue[];
}

/** Segment membership (or non-membership with `negate: true`). */
export interface SegmentCondition {
  segment: string;
  negate?: boolean;
}

/** One condition of a rule. */
export type Condition = AttributeCondition | SegmentCondition;

/** One variant's weight in a split written as a list. */
export interface SplitEntry {
  variant: string;
  weight: number;
}

/**
 * Integer weights (>= 0, at least one > 0) in bucketing order: a map variant name -> weight, in the
 * order its keys are written, or a list of entries. A list keeps its order through every JSON parser;
 * a JavaScript object does not when names look like integers (it puts "2" before "10" whatever was
 * written), so the parser turns such a map into a list (src/flags/split-order.ts).
 */
export type SplitWeights = Record<string, number> | SplitEntry[];

/** A weighted split; the served variant is the first whose cumulative weight exceeds the bucket. */
export interface Split {
  split: SplitWeights;
  /** Attribute whose value is hashed; default the targeting key (`key`). */
  by?: AttributeRef;
  /** Hash salt; default the flag key (flagd `fractional` compatible). */
  salt?: string;
}

/** A split whose weights change over time: the last step with `at <= now` wins, else `split`. */
export interface ProgressiveSplit extends Split {
  steps?: { at: string; split: SplitWeights }[];
}

/** What a rule or the fallthrough serves: a variant name, or a split. */
export type Serve = string | Split;

/** What a guard measures per variant (docs/observability.md "Guards"). */
export const GUARD_METRICS = ["error-rate", "origin-5xx", "origin-latency"] as const;
export type GuardMetric = (typeof GUARD_METRICS)[number];

/**
 * A guard: a health check of the flag's variants, judged by the environment's aggregator. When it
 * trips, every location serves the flag's off variant (reason DISABLED, ruleId "guard") until a new
 * publish or a signed `edgeflags guard reset`. With `bake`, a progressive fallthrough takes its next
 * step only after the guard has been healthy that long.
 */
export interface GuardDefinition {
  /**
   * `error-rate`: outcome events named `event` per evaluation served; `origin-5xx`: share of gated
   * origin requests answered 5xx or failing; `origin-latency`: the `percentile` of gated origin
   * latency, in ms.
   */
  metric: GuardMetric;
  /** error-rate: the outcome event counted as an error. Default "error". */
  event?: string;
  /** origin-latency: the percentile, 50 to 99.9. Default 95. */
  percentile?: number;
  /**
   * Compared with the control: trips when a variant's value is more than `ratio` times the control's
   * and more than `margin` above it (rates as fractions: 0.01 is one point; latency in ms).
   */
  relative?: { ratio: number; margin?: number };
  /** Absolute: trips when a variant's value is above it. Exactly one of `relative` and `threshold`. */
  threshold?: number;
  /** The variant compared with and never judged itself. Default the off variant. */
  control?: string;
  /** Samples (evaluations, or origin requests) a variant needs in the window to be judged. Default 100. */
  minSamples?: number;
  /** How far back the guard looks, e.g. "10m" (1m to 6h). Default "10m". */
  window?: string;
  /** Healthy time each progressive step must have before the next is served, e.g. "30m" (1m to 7d). */
  bake?: string;
}

export interface Rule {
  /** Stable id reported in evaluation results; default `rule-<index>` (0-based). */
  id?: string;
  description?: string;
  /** AND of conditions; an empty list always matches. */
  when: Condition[];
  serve: Serve;
}

export interface WeeklyWindow {
  /** mon..sun */
  days: ("mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun")[];
  /** "HH:MM", 24h local time in the schedule's time zone; end is exclusive and may be "24:00". */
  start: string;
  end: string;
}

export interface Schedule {
  /** ISO 8601 instant; the flag is inactive before it. */
  from?: string;
  /** ISO 8601 instant; the flag is inactive from it on. */
  until?: string;
  /** IANA time zone for `windows`; default UTC. */
  timezone?: string;
  /** If present, the flag is active only inside one of these weekly windows. */
  windows?: WeeklyWindow[];
}

export interface Prerequisite {
  flag: string;
  /** The prerequisite flag must evaluate to one of these variants. */
  variants: string[];
}

/**
 * Geo shorthand. `allow`: visitors whose location matches none of the lists get `serve`;
 * `block`: visitors whose location matches any list get `serve`. Evaluated after prerequisites and
 * before individual targets, because geo restrictions are usually legal ones that targeting must not
 * bypass. A visitor with unknown geo is outside every allow list and inside no block list.
 */
export interface GeoRule {
  allow?: GeoLists;
  block?: GeoLists;
  /** Variant served when the visitor is not allowed / is blocked; default the flag's off variant. */
  serve?: string;
}
export interface GeoLists {
  /** ISO 3166-1 alpha-2, upper case, e.g. "DE". */
  countries?: string[];
  /** Cloudflare continent codes: AF, AN, AS, EU, NA, OC, SA. */
  continents?: string[];
  /** ISO 3166-2 subdivisions as "<country>-<regionCode>", e.g. "US-CA". */
  regions?: string[];
}

/**
 * Top-level fields of a flag that only describe it: changing them changes nothing anyone is served
 * (the publish guard rails and the stale report both ignore them when asking "what changed").
 */
export const METADATA_FIELDS: ReadonlySet<string> = new Set([
  "description",
  "owner",
  "kind",
  "expires",
  "ticket",
  "tags",
  "created",
  "environments",
  "rolloutPlan",
  "dashboard",
  "cleanupIssue",
  "runbook",
]);

export interface FlagDefinition {
  /** What the flag is for (its purpose), for people. */
  description?: string;
  owner?: string;
  kind?: FlagKind;
  /** ISO date (YYYY-MM-DD) after which a release/experiment flag should be removed (lint). */
  expires?: string;
  ticket?: string;
  tags?: string[];
  /** ISO date (YYYY-MM-DD) the flag was added; lint reports temporary flags older than the budget. */
  created?: string;
  /** Environments the flag may be published to; omitted: every environment. `publish` refuses others. */
  environments?: string[];
  /** How the flag is meant to roll out (stages, criteria), for people. */
  rolloutPlan?: string;
  /** http(s) URL of the dashboard watching the flag's rollout; lint wants one for a percentage rollout. */
  dashboard?: string;
  /** The issue that removes the flag: a URL, `#123`, `owner/repo#123` or `PROJ-123` (release flags). */
  cleanupIssue?: string;
  /** http(s) URL of the runbook saying when and how to flip the flag (ops flags). */
  runbook?: string;
  /** Served to front-ends (GET /v1/flags, OFREP bulk). Default false: server-only. */
  clientVisible?: boolean;
  /** Declared type; when omitted it is inferred from the variants. */
  type?: FlagType;
  /** Kill switch: false serves the off variant with reason DISABLED. Default true. */
  enabled?: boolean;
  /** Variant name -> value. Omitted: a boolean flag with `on: true` and `off: false`. */
  variants?: Record<string, JsonValue>;
  /** Variant served when disabled, out of schedule or a prerequisite fails. Default "off" if present. */
  offVariant?: string;
  schedule?: Schedule;
  prerequisites?: Prerequisite[];
  geo?: GeoRule;
  /** Individual targets: variant -> targeting keys. */
  targets?: Record<string, string[]>;
  rules?: Rule[];
  /** What is served when nothing else decides: a variant name or a (progressive) split. */
  fallthrough: string | ProgressiveSplit;
  /** Health check that moves the flag to its off variant when a variant hurts (and gates `steps`). */
  guard?: GuardDefinition;
}

export interface SegmentDefinition {
  description?: string;
  /** Targeting keys always in the segment (unless excluded). */
  included?: string[];
  /** Targeting keys never in the segment; wins over everything. */
  excluded?: string[];
  /** A context matching any rule (AND of attribute conditions; no nested segments) is in. */
  rules?: { when: AttributeCondition[] }[];
}

/** HTTP methods a gate may be limited to. `GET` also covers `HEAD`. */
export const GATE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type GateMethod = (typeof GATE_METHODS)[number];

/** Answer at the edge with a status and an optional small body (text, or JSON). */
export interface GateDenyStatus {
  /** 400-599, e.g. 451 (legal), 403, 404, 503. */
  status: number;
  /** Plain text body, at most 4 KB. */
  body?: string;
  /** JSON body (sent as application/json), at most 4 KB serialised. Not with `body`. */
  json?: { [key: string]: JsonValue };
}
/** Redirect to an absolute http(s) URL or a path on the same site. */
export interface GateDenyRedirect {
  redirect: string;
  /** Default 302. */
  status?: 301 | 302 | 303 | 307 | 308;
}
/** Serve another path of the origin instead (the visitor's URL does not change). */
export interface GateDenyRewrite {
  rewrite: string;
}
export type GateDeny = GateDenyStatus | GateDenyRedirect | GateDenyRewrite;

/**
 * A gate (gateway mode): requests matching the pattern (and host, methods) pass to the origin only if
 * the visitor gets one of the `allow` variants of `flag`; otherwise the worker answers with `deny`.
 */
export interface GateDefinition {
  /** Stable id for logs and the decision header; default `gate-<index>` (0-based). */
  id?: string;
  /** URLPattern pathname syntax, e.g. "/checkout/*" or "/api/v1/orders/:id". */
  pattern: string;
  /** URLPattern hostname syntax, e.g. "shop.example.com" or "*.example.com". Default: any host. */
  host?: string;
  /** Only these methods are gated. Default: every method. */
  methods?: GateMethod[];
  flag: string;
  /** Variants of `flag` that let the request through. */
  allow: string[];
  deny: GateDeny;
  /** With no trustworthy snapshot: "deny" (default, fail closed) or "allow" (fail open). */
  onUnavailable?: "deny" | "allow";
  /** Inject the visitor's client-visible flags into HTML answers of this gate's paths. */
  inject?: boolean;
  /** false: the pattern ignores case (for origins that do, so `/CHECKOUT` is gated too). Default true. */
  caseSensitive?: boolean;
}

/** The whole flags file. */
export interface FlagsDocument {
  /** Optional JSON Schema reference for editors. */
  $schema?: string;
  flags: Record<string, FlagDefinition>;
  segments?: Record<string, SegmentDefinition>;
  /** Gateway mode: path gates enforced at the edge, most specific pattern first. */
  gates?: GateDefinition[];
}
