/** The worker's bindings and settings, as wrangler passes them (all settings are strings). */

export interface Env {
  /** Workers KV namespace holding the signed snapshots. */
  FLAGS: KVNamespace;
  /** Environment this worker serves; snapshots for another one are refused. Default "development". */
  EDGEFLAGS_ENV?: string;
  /** JWKS (JSON) of the public keys that may sign snapshots; several for rotation. Required. */
  EDGEFLAGS_PUBLIC_KEYS?: string;
  /** Root trust policy (JSON): key roles and scopes, approvals per flag class (README "Security model"). */
  EDGEFLAGS_POLICY?: string;
  /** Seconds between background re-checks of KV. Default 10. */
  REFRESH_INTERVAL_SECONDS?: string;
  /** KV edge-cache TTL of snapshot reads, seconds (KV minimum 30). Default 30. */
  KV_CACHE_TTL_SECONDS?: string;
  /** The version beacon (Durable Object, one per environment). Unset: KV-only propagation. */
  BEACON?: DurableObjectNamespace;
  /** Seconds between background checks of the version signal, 0 to turn it off. Default 2. */
  SIGNAL_INTERVAL_SECONDS?: string;
  /**
   * The location name this worker reports to the beacon (`edgeflags status`, `--confirm all`).
   * Default: `request.cf.colo`. Set it where there is no colo (local runs, simulated locations).
   */
  SIGNAL_LOCATION?: string;
  /** Comma-separated origins allowed by CORS, or "*". Default "*". */
  CORS_ORIGINS?: string;
  /** "true": read CF-IPCountry etc. when the platform gives no location (local dev only). */
  GEO_HEADER_FALLBACK?: string;
  /** Bearer token the publisher presents to PUT /v1/snapshot. Unset: the intake is off. */
  PUBLISH_TOKEN?: string;
  /** Comma-separated API keys (X-API-Key) that may read server-only flags. */
  SERVER_API_KEYS?: string;
  /**
   * Identity tokens: issuer, audience, and a static JWKS or an https JWKS URL (one of the two). Any
   * of them set makes all required; an incomplete set refuses requests with a bearer token.
   */
  IDENTITY_ISSUER?: string;
  IDENTITY_AUDIENCE?: string;
  IDENTITY_JWKS?: string;
  IDENTITY_JWKS_URL?: string;
  /** Longest accepted identity-token lifetime (exp - iat, or exp - now), seconds. Default 86400. */
  IDENTITY_MAX_LIFETIME_SECONDS?: string;
  /** Name of the anonymous-id cookie, or "off". Default "ef_id". */
  ANON_COOKIE?: string;
  /** SameSite of that cookie: Lax (default), Strict or None (cross-site front-ends). */
  ANON_COOKIE_SAMESITE?: string;
  /**
   * Longest lifetime of a preview link (exp - iat) the worker accepts, seconds: it may lower the
   * built-in 604800 (7 days), never raise it. Default 604800.
   */
  PREVIEW_MAX_LIFETIME_SECONDS?: string;
  /** Largest accepted evaluation request body, bytes. Default 65536. */
  MAX_BODY_BYTES?: string;
  /** Largest accepted snapshot, bytes. Default 5242880. */
  MAX_SNAPSHOT_BYTES?: string;
  /** Most event streams (GET /v1/events) one isolate holds open; 0 turns them off. Default 1000. */
  STREAMS_MAX_PER_ISOLATE?: string;
  /** Seconds without other bytes after which an event stream sends a comment. Default 20. */
  STREAM_HEARTBEAT_SECONDS?: string;
  /** Seconds after which an event stream is closed and the client reconnects. Default 600. */
  STREAM_MAX_SECONDS?: string;
  /** "true": gateway mode, in front of an origin; the API moves under API_PREFIX. Default off. */
  GATEWAY?: string;
  /** Path prefix of the worker's own endpoints in gateway mode. Default "/__edgeflags". */
  API_PREFIX?: string;
  /** Gateway origin as a service binding (another worker). Wins over ORIGIN_URL. */
  ORIGIN?: Fetcher;
  /** Gateway origin's scheme://host:port. Unset: the request goes on to the zone's own origin. */
  ORIGIN_URL?: string;
  /** No snapshot to serve (none, expired, none valid): "deny" with a 503 (default) or "pass" to the origin. */
  GATEWAY_NO_SNAPSHOT?: string;
  /** "true": inject the visitor's flags into every HTML page (else only where a gate says inject). */
  INJECT_HTML?: string;
  /** "true": add X-Edgeflags-Decision to gateway responses (debugging, staging). Default off. */
  DECISION_HEADER?: string;
  /** "false": do not send X-Edgeflags-Flags to the origin. Default on. */
  FORWARD_FLAGS?: string;
  /** Evaluation counts to Workers Analytics Engine (docs/observability.md). Unset: not written there. */
  EF_COUNTS?: AnalyticsEngineDataset;
  /** The counts aggregator (Durable Object, one per environment) behind GET /v1/stats. */
  AGGREGATOR?: DurableObjectNamespace;
  /** "false": count nothing. Default on when EF_COUNTS or AGGREGATOR is bound. */
  COUNTS?: string;
  /** Longest time counts wait in isolate memory before a background flush, seconds (1-60). Default 60. */
  COUNTS_FLUSH_SECONDS?: string;
  /** Distinct rows in memory that make an isolate flush at once. Default 1000. */
  COUNTS_MAX_ROWS?: string;
  /** "true": count per request.cf.country too. Default off. */
  COUNTS_COUNTRY?: string;
  /** Most distinct countries an isolate counts per window; the rest count as "other". Default 20. */
  COUNTS_COUNTRY_LIMIT?: string;
  /**
   * Share of isolates (0-1, default 1) that write counts to Analytics Engine, each weighted 1/share
   * (double3); decided once per isolate. The aggregator always gets every count.
   */
  COUNTS_SAMPLE?: string;
  /** Read-only bearer token for GET /v1/stats (the publish token is accepted too). */
  STATS_TOKEN?: string;
  /**
   * Read-only token that signs in to the operator console at /console (docs/console.md); the publish
   * token signs in too. Neither set: the console is off (404).
   */
  CONSOLE_TOKEN?: string;
  /** Where the aggregator posts a guard trip (Slack-compatible JSON). Unset: no webhook. */
  GUARD_WEBHOOK_URL?: string;
  /** Sent as X-Edgeflags-Webhook-Secret with every webhook, for the receiver to check. */
  GUARD_WEBHOOK_SECRET?: string;
}
