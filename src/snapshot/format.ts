/**
 * The signed snapshot: what the publisher signs and the worker trusts. A compact JWS whose payload
 * is `SnapshotPayload`. Constants only, no I/O.
 */
import type { FlagsDocument } from "../flags/types";
import type { ApprovalGroup } from "../policy/approvals";

/** JWS `typ` header of every snapshot; anything else is refused (no confusion with other JWTs). */
export const SNAPSHOT_TYP = "edgeflags-snapshot+jws";

/** Signature algorithms a snapshot may use. Checked before any crypto runs; `none` never passes. */
export const SNAPSHOT_ALGORITHMS = ["EdDSA", "ES256"] as const;
export type SnapshotAlgorithm = (typeof SNAPSHOT_ALGORITHMS)[number];

/** Current payload format. */
export const SNAPSHOT_FORMAT = 1;

export interface SnapshotPayload {
  format: typeof SNAPSHOT_FORMAT;
  /** Environment the snapshot is for (e.g. "production"); the worker serves only its own. */
  environment: string;
  /** Strictly increasing per environment; a worker never goes back to an older one. */
  version: number;
  /** ISO 8601 instant of signing. */
  issuedAt: string;
  /** Optional ISO 8601 instant after which the snapshot is refused. */
  expiresAt?: string;
  /** `sha256:<hex>` of the flags file the snapshot was compiled from. */
  sourceDigest: string;
  /** The validated flags document. */
  flags: FlagsDocument;
  /**
   * Who published and what changed. Inside the signed payload, so an audit record derived from it
   * cannot be forged by anyone without the signing key.
   */
  audit?: SnapshotAudit;
  /**
   * Approval groups (src/policy/approvals.ts): signed manifests of flag definitions, counted against
   * the worker's trust policy on every load. Ignored by a worker without a policy.
   */
  approvals?: ApprovalGroup[];
}

/**
 * One change inside a flag, segment or gate, with its direction. `path` is how people read it:
 * `enabled`, `rules[eu-only].serve.split.on` (list items with an `id` by id, others by index; split
 * weights by variant), or `rules (order)` with the ids before and after. `before` / `after` are JSON
 * values; absent means unset (added or removed).
 */
export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
  /**
   * Sides too long to sign in full (audit blocks only): such a side holds the start of its JSON text
   * and its length, e.g. `{"when":[{"attribute":… (1234 chars)`, not the value.
   */
  cut?: ("before" | "after")[];
}

/** The recorded changes of one segment or gate. */
export interface KeyedChanges {
  key: string;
  changes: FieldChange[];
  /** Changes left out to keep the audit block small. */
  omitted?: number;
}

/** Segments or gates added, removed or changed. */
export interface CollectionSummary {
  added: string[];
  removed: string[];
  changed: string[];
  /** Per changed key, what changed (absent in snapshots published before it was recorded). */
  changes?: KeyedChanges[];
}

/** What a publish changed compared with the snapshot it replaced. */
export interface ChangeSummary {
  /** Flag keys new in this snapshot. */
  added: string[];
  /** Flag keys no longer present. */
  removed: string[];
  /**
   * Flags present in both whose definition differs: the top-level fields that differ and each change
   * with its direction (`changes`; absent in snapshots published before it was recorded; bounded in
   * size, with `omitted` counting what was left out).
   */
  changed: { flag: string; fields: string[]; changes?: FieldChange[]; omitted?: number }[];
  /** Segment keys added, removed or changed. */
  segments?: CollectionSummary;
  /** Gates (by id, default `gate-<index>`) added, removed or changed. */
  gates?: CollectionSummary;
  /** One line for people, e.g. "1 added (beta-banner), 1 changed (demo-flag: enabled true -> false)". */
  text: string;
}

export interface SnapshotAudit {
  /** Who published: a name, an email, or both ("Ada <ada@example.com>"). */
  actor: string;
  message?: string;
  changes: ChangeSummary;
  /** Lint rules a publish was allowed to break (`--allow-lint RULE --reason TEXT`). Absent: none. */
  overrides?: LintOverride[];
  /** Flags this snapshot disabled with `kill`, and their state before, so `unkill` restores it exactly. */
  killed?: KilledFlag[];
  /** Set when an on-call key signed the snapshot alone (break-glass): why. */
  breakGlass?: { reason: string };
}

/** One audited lint override: the rule, why, and the findings it let through ("flags.<key>"). */
export interface LintOverride {
  rule: string;
  reason: string;
  findings: string[];
}

/** A flag disabled by `kill`: `previousEnabled` is its `enabled` field before, null when it was unset. */
export interface KilledFlag {
  flag: string;
  previousEnabled: boolean | null;
}

/** The append-only record the intake writes at `kvKeys.audit(env, version)` for every publish. */
export interface AuditRecord {
  version: number;
  environment: string;
  issuedAt: string;
  actor: string | null;
  message: string | null;
  sourceDigest: string;
  /** Key that signed the snapshot. */
  kid: string;
  changes: ChangeSummary | null;
  /** An on-call key's break-glass publish: its reason (absent for every other publish). */
  breakGlass?: string;
}

/** KV keys, per environment. */
export const kvKeys = {
  /** The live snapshot (compact JWS). */
  current: (env: string) => `snapshot/${env}/current`,
  /** Every published snapshot, for rollback and diff. */
  version: (env: string, version: number) => `snapshot/${env}/v/${String(version).padStart(10, "0")}`,
  /** Prefix for listing published versions. */
  versionPrefix: (env: string) => `snapshot/${env}/v/`,
  /** Append-only audit records, one per publish. */
  audit: (env: string, version: number) => `audit/${env}/${String(version).padStart(10, "0")}`,
  auditPrefix: (env: string) => `audit/${env}/`,
} as const;

export interface PayloadInput {
  environment: string;
  version: number;
  /** Epoch ms of signing; default now. */
  now?: number;
  expiresAt?: string;
  sourceDigest?: string;
  audit?: SnapshotAudit;
  approvals?: ApprovalGroup[];
}

/** The one way to build a snapshot envelope around a flags document (publisher, tests, benches). */
export function snapshotPayload(flags: FlagsDocument, input: PayloadInput): SnapshotPayload {
  return {
    format: SNAPSHOT_FORMAT,
    environment: input.environment,
    version: input.version,
    issuedAt: new Date(input.now ?? Date.now()).toISOString(),
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
    sourceDigest: input.sourceDigest ?? "sha256:unknown",
    flags,
    ...(input.audit ? { audit: input.audit } : {}),
    ...(input.approvals?.length ? { approvals: input.approvals } : {}),
  };
}
