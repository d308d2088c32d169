/**
 * Evaluation vocabulary: the context the worker fills and the result the engine returns. Pure types.
 * Reasons and error codes are OpenFeature's, so results map 1:1 onto OFREP.
 */
import type { FlagType, JsonValue } from "../flags/types";

/** Edge geolocation, taken from `request.cf` by the worker. Never from client input. */
export interface GeoFacts {
  country?: string;
  continent?: string;
  region?: string;
  regionCode?: string;
  city?: string;
  postalCode?: string;
  timezone?: string;
  asn?: number;
  isEU?: boolean;
  latitude?: number;
  longitude?: number;
  colo?: string;
}

/**
 * Everything a flag can be evaluated against. The three attribute sources are kept apart:
 * `geo` (edge facts) and `identity` (verified token claims) are trusted; `attributes` come from the
 * client and are untrusted. Rules name their source explicitly (`geo.country`, `identity.email`,
 * `plan`), so an untrusted attribute can never stand in for a trusted one.
 */
export interface EvaluationContext {
  targetingKey?: string;
  geo?: GeoFacts;
  identity?: Readonly<Record<string, unknown>>;
  attributes?: Readonly<Record<string, unknown>>;
}

/**
 * `PREVIEW` is edgeflags' own: a variant served by a signed preview link (src/preview), never by the
 * engine. OpenFeature reasons are open strings, so SDKs pass it through.
 */
export type Reason = "STATIC" | "DEFAULT" | "TARGETING_MATCH" | "SPLIT" | "DISABLED" | "ERROR" | "PREVIEW";

export type ErrorCode =
  | "FLAG_NOT_FOUND"
  | "TYPE_MISMATCH"
  | "PARSE_ERROR"
  | "INVALID_CONTEXT"
  | "TARGETING_KEY_MISSING"
  | "GENERAL";

/** One flag's evaluation. Errors are results too: `value` is then undefined (use your default). */
export interface EvaluationResult {
  key: string;
  value: JsonValue | undefined;
  variant?: string;
  reason: Reason;
  errorCode?: ErrorCode;
  errorMessage?: string;
  /**
   * What decided, when something more specific than the reason: a rule id, `target`, `geo`,
   * `schedule`, `prerequisite:<flag>`, `fallthrough`.
   */
  ruleId?: string;
  /** The flag's declared or inferred type (absent for FLAG_NOT_FOUND). */
  type?: FlagType;
}
