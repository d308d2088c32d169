/**
 * Editor help for the JSON Schema: a title and a description per object, and one per field. Kept out
 * of schema.ts, which stays about shapes. Pure data, no I/O.
 */

export interface ObjectDocs {
  title: string;
  description: string;
  fields: Record<string, string>;
}

const condition = "An attribute test or a segment membership; all conditions of a rule must hold.";

/** Keyed by the definition names scripts/gen-schema.ts gives the schema's objects. */
export const SCHEMA_DOCS: Record<string, ObjectDocs> = {
  FlagsDocument: {
    title: "edgeflags flags file",
    description: "Feature flags and reusable segments, evaluated at the edge. See docs/flags-file.md.",
    fields: {
      $schema: "JSON Schema reference for editors; ignored by edgeflags.",
      flags: "Flags by key. Keys: letters, digits, '.', '_' and '-', starting with a letter or digit.",
      segments: "Reusable groups of users by name, referenced from rule conditions as { segment: name }.",
      gates:
        "Gateway mode: path gates enforced at the edge. The most specific matching pattern decides; see docs/flags-file.md.",
    },
  },
  Flag: {
    title: "Flag",
    description: "One feature flag: variants and how one is chosen for a visitor.",
    fields: {
      description: "What the flag is for (its purpose), for people.",
      owner: "Team or person responsible for the flag.",
      kind: "release, ops (kill switch), experiment, permission or migration.",
      expires: "YYYY-MM-DD after which the flag should be removed (lint fails after it).",
      ticket: "Issue or ticket reference.",
      tags: "Free-form labels.",
      created:
        "YYYY-MM-DD the flag was added; lint reports release, experiment and migration flags older than the budget.",
      environments:
        "Environments the flag may be published to (e.g. [staging]). Default: every one. publish refuses a document with a flag not allowed in its environment.",
      rolloutPlan: "How the flag rolls out (stages, success criteria), for people.",
      dashboard:
        "http(s) URL of the dashboard watching the rollout; lint wants one for a percentage rollout.",
      cleanupIssue:
        'The issue that removes the flag: a URL, "#123", "org/repo#123" or "PROJ-123". Required for release flags.',
      runbook: "http(s) URL of the runbook: when and how to flip the flag. Wanted for ops flags.",
      clientVisible: "Serve this flag's value to front-ends (GET /v1/flags, OFREP bulk). Default false.",
      type: "boolean, string, number or json. Default: inferred from the variants.",
      enabled: "Kill switch: false serves the off variant with reason DISABLED. Default true.",
      variants: "Variant name -> value, all of one type. Default { on: true, off: false }.",
      offVariant:
        'Variant served when disabled, out of schedule, a prerequisite fails or geo blocks. Default "off".',
      schedule: "When the flag is active; outside it the off variant is served.",
      prerequisites: "Other flags that must evaluate to given variants, else the off variant is served.",
      geo: "Allow or block by country, continent or region (checked after prerequisites, before targets).",
      targets: "Individual targeting: variant name -> targeting keys that always get it.",
      rules: "Rules in order; the first whose conditions all hold serves its variant or split.",
      fallthrough: "What is served when nothing else decides: a variant name or a (progressive) split.",
      guard:
        "Health check judged by the aggregator: when a variant hurts, every location serves the off variant until a new publish or a signed guard reset; with bake, progressive steps wait for health.",
    },
  },
  Guard: {
    title: "Guard",
    description:
      "A health check of the flag's variants against the control variant (relative) or a threshold (absolute). Exactly one of relative and threshold.",
    fields: {
      metric:
        "error-rate (outcome events named event per evaluation), origin-5xx (share of gated origin requests answered 5xx or failing) or origin-latency (percentile of gated origin latency, ms).",
      event: 'error-rate: the outcome event that counts as an error. Default "error".',
      percentile: "origin-latency: the percentile, 50 to 99.9. Default 95.",
      relative:
        "Trips when a variant's value is more than ratio x the control's and more than margin above it (rates as fractions: 0.01 is one point).",
      threshold: "Trips when a variant's value is above it (rates as fractions, latency in ms).",
      control: "The variant compared with, never judged itself. Default the off variant.",
      minSamples:
        "Evaluations (error-rate) or origin requests (origin metrics) a variant needs in the window before it is judged. Default 100.",
      window: 'How far back the guard looks: "1m" to "6h". Default "10m".',
      bake: 'Healthy time each progressive step needs before the next one is served: "1m" to "7d".',
    },
  },
  GuardRelative: {
    title: "Relative comparison",
    description: "Compared with the control variant.",
    fields: {
      ratio: "Trips only above ratio x the control's value (e.g. 2).",
      margin: "... and only more than this above it (e.g. 0.01 for one point). Default 0.",
    },
  },
  Rule: {
    title: "Rule",
    description: "Conditions (all must hold) and what to serve when they do.",
    fields: {
      id: "Stable id reported in evaluation results. Default rule-<index> (0-based).",
      description: "What the rule is for, for people.",
      when: "Conditions, ANDed. An empty list always matches.",
      serve: "A variant name or a split.",
    },
  },
  AttributeCondition: {
    title: "Attribute condition",
    description: condition,
    fields: {
      attribute:
        "key (targeting key), geo.<field> (edge location), identity.<claim> (verified token), or a client attribute name.",
      op: "Operator. A missing attribute fails every operator except not_exists.",
      values: "Values to compare with; exactly one for equals/not_equals, none for exists/not_exists.",
    },
  },
  SegmentCondition: {
    title: "Segment condition",
    description: condition,
    fields: {
      segment: "Name of a segment defined under `segments`.",
      negate: "true: the condition holds when the visitor is NOT in the segment.",
    },
  },
  Split: {
    title: "Split",
    description:
      "Weighted, sticky assignment to variants by hashing an attribute (flagd fractional compatible).",
    fields: {
      split:
        "Variant name -> integer weight >= 0; at least one above 0; total at most 1,000,000. Bucketing follows the order written; a list of { variant, weight } entries says the same.",
      by: "Attribute whose value is hashed. Default key (the targeting key).",
      salt: "Hash salt. Default the flag key.",
    },
  },
  ProgressiveSplit: {
    title: "Progressive split",
    description: "A split whose weights change over time (progressive rollout).",
    fields: {
      split:
        "Weights before the first step. Variant name -> integer weight >= 0, in bucketing order (or a list of { variant, weight } entries).",
      by: "Attribute whose value is hashed. Default key (the targeting key).",
      salt: "Hash salt. Default the flag key.",
      steps: "Later weights: the last step whose `at` has passed wins. Times must increase.",
    },
  },
  RolloutStep: {
    title: "Rollout step",
    description: "Weights in force from an instant on.",
    fields: {
      at: 'ISO 8601 instant with offset, e.g. "2025-06-01T09:00:00Z".',
      split:
        "Variant name -> integer weight >= 0, in bucketing order (or a list of { variant, weight } entries).",
    },
  },
  Schedule: {
    title: "Schedule",
    description: "When the flag is active. Outside: the off variant, reason DISABLED.",
    fields: {
      from: "ISO 8601 date or instant with offset; inactive before it.",
      until: "ISO 8601 date or instant with offset; inactive from it on.",
      timezone: "IANA time zone for windows. Default UTC.",
      windows: "If present, active only inside one of these weekly windows.",
    },
  },
  WeeklyWindow: {
    title: "Weekly window",
    description: "Days and a local time range; start inclusive, end exclusive.",
    fields: {
      days: "mon, tue, wed, thu, fri, sat, sun.",
      start: '"HH:MM", 24-hour local time.',
      end: '"HH:MM" after start; "24:00" for end of day.',
    },
  },
  Prerequisite: {
    title: "Prerequisite",
    description: "Another flag that must evaluate to one of the given variants.",
    fields: { flag: "Key of the prerequisite flag.", variants: "Accepted variants of that flag." },
  },
  Geo: {
    title: "Geo restriction",
    description:
      "allow: visitors outside every list get `serve`; block: visitors inside any list get `serve`.",
    fields: {
      allow: "Only visitors located here get normal evaluation.",
      block: "Visitors located here get `serve`.",
      serve: "Variant for visitors not allowed or blocked. Default the off variant.",
    },
  },
  GeoLists: {
    title: "Geo lists",
    description: "Locations; a visitor matches if any list matches.",
    fields: {
      countries: 'ISO 3166-1 alpha-2 codes, upper case, e.g. "DE".',
      continents: "AF, AN, AS, EU, NA, OC, SA.",
      regions: 'ISO 3166-2 subdivisions, e.g. "US-CA".',
    },
  },
  Segment: {
    title: "Segment",
    description: "A reusable group: excluded keys never, included keys always, else anyone matching a rule.",
    fields: {
      description: "Who is in the segment, for people.",
      included: "Targeting keys always in the segment (unless excluded).",
      excluded: "Targeting keys never in the segment; wins over everything.",
      rules: "A visitor matching any rule (AND of attribute conditions) is in.",
    },
  },
  SegmentRule: {
    title: "Segment rule",
    description: "Attribute conditions, all of which must hold (no nested segments).",
    fields: { when: "Attribute conditions, ANDed." },
  },
  Gate: {
    title: "Gate",
    description:
      "Requests matching pattern (and host, methods) reach the origin only if the visitor gets an allowed variant of flag.",
    fields: {
      id: "Stable id for logs and the decision header. Default gate-<index> (0-based).",
      pattern: 'URLPattern pathname, e.g. "/checkout/*", "/checkout{/*}?" or "/api/v1/orders/:id".',
      host: 'URLPattern hostname, e.g. "shop.example.com" or "*.example.com". Default: any host.',
      methods: "Only these methods are gated (GET also covers HEAD). Default: every method.",
      flag: "Key of the flag that decides.",
      allow: "Variants of the flag that let the request through.",
      deny: "What the edge answers otherwise: a status, a redirect or a rewrite.",
      onUnavailable:
        "With no trustworthy snapshot (none loaded, or expired): deny (default, fail closed) or allow (fail open).",
      inject: "Inject the visitor's client-visible flags into HTML answers of this gate's paths.",
      caseSensitive:
        "false: the pattern ignores case, for origins that do (so /CHECKOUT is gated like /checkout). Default true.",
    },
  },
  GateDenyStatus: {
    title: "Deny with a status",
    description: "Answer at the edge with a status and an optional small body.",
    fields: {
      status: "400 to 599, e.g. 451 (unavailable for legal reasons), 403, 404 or 503.",
      body: "Plain text body, at most 4096 bytes.",
      json: "JSON body (application/json), at most 4096 bytes serialised. Not with body.",
    },
  },
  GateDenyRedirect: {
    title: "Deny with a redirect",
    description: "Send the visitor elsewhere.",
    fields: {
      redirect: 'An absolute http(s) URL or a path starting with "/".',
      status: "301, 302, 303, 307 or 308. Default 302.",
    },
  },
  GateDenyRewrite: {
    title: "Deny with a rewrite",
    description: "Serve another path of the origin instead; the visitor's URL does not change.",
    fields: { rewrite: 'A path on the origin, starting with "/" (may carry a query).' },
  },
};
