/** The worker's bindings and settings, as wrangler passes them (all settings are strings). */

export interface Env {
  /** Workers KV namespace holding the signed snapshots. */
  FLAGS: KVNamespace;
  /** Environment this worker serves; snapshots for another one are refused. Default "development". */
  EDGEFLAGS_ENV?: string;
  /** JWKS (JSON) of the public keys that may sign snapshots; several for rotation. Required. */
  EDGEFLAGS_PUBLIC_KEYS?: string;
  /** Seconds between background re-checks of KV. Default 10. */
  REFRESH_INTERVAL_SECONDS?: string;
  /** KV edge-cache TTL of snapshot reads, seconds (KV minimum 30). Default 30. */
  KV_CACHE_TTL_SECONDS?: string;
  /** Comma-separated origins allowed by CORS, or "*". Default "*". */
  CORS_ORIGINS?: string;
  /** "true": read CF-IPCountry etc. when the platform gives no location (local dev only). */
  GEO_HEADER_FALLBACK?: string;
  /** Bearer token the publisher presents to PUT /v1/snapshot. Unset: the intake is off. */
  PUBLISH_TOKEN?: string;
  /** Comma-separated API keys (X-API-Key) that may read server-only flags. */
  SERVER_API_KEYS?: string;
  /** Identity tokens: issuer, audience, and a static JWKS or a JWKS URL. */
  IDENTITY_ISSUER?: string;
  IDENTITY_AUDIENCE?: string;
  IDENTITY_JWKS?: string;
  IDENTITY_JWKS_URL?: string;
  /** Name of the anonymous-id cookie, or "off". Default "ef_id". */
  ANON_COOKIE?: string;
  /** SameSite of that cookie: Lax (default), Strict or None (cross-site front-ends). */
  ANON_COOKIE_SAMESITE?: string;
  /** Largest accepted evaluation request body, bytes. Default 65536. */
  MAX_BODY_BYTES?: string;
  /** Largest accepted snapshot, bytes. Default 5242880. */
  MAX_SNAPSHOT_BYTES?: string;
}
