/**
 * Whether a flag serves one variant to everyone (fully rolled out, or fully off), and since when the
 * published history says it has: the newest record that changed how it serves. Pure, no I/O, no
 * clock: `now` is passed in.
 */
import { offVariantOf, splitEntries } from "../../flags/defaults";
import { type FlagDefinition, METADATA_FIELDS, type SplitWeights } from "../../flags/types";
import type { ChangeSummary } from "../../snapshot/format";
import type { HistoryRecord } from "../targets/target";

/** What a flag serves everyone, or why it serves more than one variant. */
export type Serving =
  | {
      single: true;
      variant: string;
      /** `off`: disabled or serving its off variant; `rolled-out`: another variant, to everyone. */
      state: "off" | "rolled-out";
      /** When a progressive split reached 100% (its step's `at`), if that is what made it single. */
      from?: string;
    }
  | { single: false; why: string };

/** The one variant of `weights` with a weight above 0, if only one has. */
function soleVariant(weights: SplitWeights): string | undefined {
  const live = splitEntries(weights).filter((e) => e.weight > 0);
  return live.length === 1 ? live[0]?.variant : undefined;
}

const nonEmpty = (o: object | undefined) => o !== undefined && Object.keys(o).length > 0;

/**
 * What `flag` serves at `now`. Disabled serves its off variant to everyone whatever else it says.
 * Otherwise it is single only with no rules, targets, geo, schedule or prerequisites, and a
 * fallthrough that is a variant or a split (at its current step, with no step ahead) giving 100% to
 * one variant.
 */
export function servingOf(flag: FlagDefinition, now: number): Serving {
  const off = offVariantOf(flag);
  const state = (variant: string): "off" | "rolled-out" => (variant === off ? "off" : "rolled-out");
  if (flag.enabled === false) return { single: true, variant: off, state: "off" };
  if ((flag.rules ?? []).length > 0) return { single: false, why: "has rules" };
  if (Object.values(flag.targets ?? {}).some((keys) => keys.length > 0))
    return { single: false, why: "has individual targets" };
  if (nonEmpty(flag.geo)) return { single: false, why: "has a geo rule" };
  if (nonEmpty(flag.schedule)) return { single: false, why: "has a schedule" };
  if ((flag.prerequisites ?? []).length > 0) return { single: false, why: "has prerequisites" };
  const fallthrough = flag.fallthrough;
  if (typeof fallthrough === "string")
    return { single: true, variant: fallthrough, state: state(fallthrough) };
  const steps = "steps" in fallthrough ? (fallthrough.steps ?? []) : [];
  if (steps.some((s) => Date.parse(s.at) > now))
    return { single: false, why: "a progressive rollout has steps ahead" };
  const current = steps.length > 0 ? steps[steps.length - 1] : undefined;
  const variant = soleVariant(current ? current.split : fallthrough.split);
  if (variant === undefined) return { single: false, why: "splits traffic between variants" };
  return { single: true, variant, state: state(variant), ...(current ? { from: current.at } : {}) };
}

/** Re-exported: a publish that only edits these (moving `expires`, a new owner) does not restart "unchanged since". */
export { METADATA_FIELDS };

/** Whether `changes` added, removed or changed how `key` serves (a change of metadata only does not). */
export function changesServing(changes: ChangeSummary, key: string): boolean {
  if (changes.added.includes(key) || changes.removed.includes(key)) return true;
  return changes.changed.some((c) => c.flag === key && c.fields.some((f) => !METADATA_FIELDS.has(f)));
}

/** Since when a flag has served as it does now, as far as the history read can tell. */
export type ServingSince =
  /** Issued at `at` by version `version`, the newest record that changed how the flag serves. */
  | { known: true; at: string; version: number; atLeast?: false }
  /** No record read changed it: unchanged since at least the oldest record read. */
  | { known: true; at: string; version: number; atLeast: true }
  | { known: false; why: string };

/**
 * The newest of `records` (newest first, as targets return them) that changed how `key` serves. A
 * newer record that cannot be read (it does not verify, or carries no change summary) may have
 * changed it too, so then nobody can say. `complete`: the records are the whole history (fewer than
 * asked for), so a flag none of them added was never published.
 */
export function servingSince(
  records: readonly HistoryRecord[],
  key: string,
  complete: boolean,
): ServingSince {
  let oldest: { at: string; version: number } | undefined;
  for (const r of records) {
    if (r.verified === false)
      return { known: false, why: `version ${r.version} does not verify (${r.reason})` };
    if (!r.changes) return { known: false, why: `version ${r.version} recorded no change summary` };
    if (changesServing(r.changes, key)) return { known: true, at: r.issuedAt, version: r.version };
    oldest = { at: r.issuedAt, version: r.version };
  }
  if (!oldest) return { known: false, why: "nothing is published" };
  if (complete) return { known: false, why: "not published yet" };
  return { known: true, ...oldest, atLeast: true };
}
