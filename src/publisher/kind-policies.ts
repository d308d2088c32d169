/**
 * What each kind of flag must carry, as one table that lint (src/publisher/lint.ts), the docs'
 * policy table and the table tests read. Pure data, no I/O.
 */
import type { FlagKind } from "../flags/types";

export type Severity = "error" | "warning";

export interface KindPolicy {
  /** A flag of this kind without `owner` (rule missing-owner). */
  owner: Severity;
  /** Temporary: needs `expires` and fails lint past it (missing-expires, expired; errors). */
  temporary: boolean;
  /** Needs `cleanupIssue` (release-needs-cleanup-issue), or undefined when not. */
  cleanupIssue?: Severity;
  /** Must serve its off variant by default: the fallthrough is not another plain variant (release-default-off). */
  defaultOff?: Severity;
  /** Needs `runbook` (ops-needs-runbook). */
  runbook?: Severity;
  /** A percentage rollout without `dashboard` (rollout-needs-dashboard). */
  dashboard: Severity;
  /** Reported stale once `created` is older than the age budget (rule stale). */
  agesOut: boolean;
}

/**
 * Errors are what a publish's ratchet can block (when the change introduces them), warnings never
 * block. Temporary kinds (release, experiment) get errors, as missing-owner always did; long-lived
 * ones warn. An ops flag's runbook is a warning on purpose: a kill switch is published during an
 * incident, and refusing it for a missing link would make the incident worse.
 */
export const KIND_POLICIES: Readonly<Record<FlagKind, Readonly<KindPolicy>>> = {
  release: {
    owner: "error",
    temporary: true,
    cleanupIssue: "error",
    defaultOff: "error",
    dashboard: "error",
    agesOut: true,
  },
  experiment: { owner: "error", temporary: true, dashboard: "error", agesOut: true },
  ops: { owner: "warning", temporary: false, runbook: "warning", dashboard: "warning", agesOut: false },
  // Who may use what is not a rollout that ends: a permission flag is never stale or expired by age.
  permission: { owner: "warning", temporary: false, dashboard: "warning", agesOut: false },
  migration: { owner: "warning", temporary: false, dashboard: "warning", agesOut: true },
};

/** A flag without a kind: lint cannot tell what it needs, so a percentage rollout only warns. */
export const KINDLESS_DASHBOARD: Severity = "warning";

/** Days after `created` that a flag of a kind that ages out is reported stale, unless configured. */
export const DEFAULT_STALE_AFTER_DAYS = 90;
