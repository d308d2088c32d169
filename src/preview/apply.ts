/**
 * Which of a verified preview token's overrides apply to one request, and the results they serve.
 * An override of flag F to variant V applies only when all of these hold:
 * - the token's `sub`, if any, is the request's targeting key;
 * - F is in the snapshot and V is one of its variants;
 * - the signing key's scope covers F (src/policy/policy.ts `inScope` over `classOf(F)`);
 * - F is not `kind: permission`, and neither is any flag F requires (prerequisites, transitively):
 *   access control is never previewed;
 * - F's kill switch is not off, nor that of a flag F requires: a kill stops a feature for everyone;
 * - no geo restriction (`geo:` allow/block lists) of F, or of a flag F requires, keeps this visitor
 *   out: geo restrictions are usually legal ones and always win, whichever step decided normally.
 * Schedules, targeting, rules, splits and unmet (non-geo, non-permission, non-killed) prerequisites
 * are what a preview is for: those it overrides. An override serves V with reason PREVIEW; it does not
 * change what other flags see when they require F (their prerequisites read F's normal result).
 * Pure, no I/O.
 */
import {
  type CompiledFlags,
  type EvaluationContext,
  type EvaluationResult,
  geoRestricts,
} from "../eval/index";
import { served } from "../eval/reasons";
import type { FlagDefinition, FlagsDocument, JsonValue } from "../flags/types";
import { classOf, inScope } from "../policy/policy";
import type { PreviewGrant } from "./token";

/** What an override needs from a snapshot: its flags document and its compiled form. */
export interface PreviewSnapshot {
  payload: { flags: FlagsDocument };
  compiled: CompiledFlags;
}

/** What never changes for a flag within one snapshot: its class, and the flags it stands on. */
interface FlagProfile {
  atoms: string[];
  /** F or a flag it requires is a permission flag. */
  permission: boolean;
  /** F or a flag it requires is killed (`enabled: false`). */
  killed: boolean;
  /** F and the flags it requires that have geo lists: checked against each visitor. */
  geo: string[];
}

const profiles = new WeakMap<FlagsDocument, Map<string, FlagProfile>>();
const previewResults = new WeakMap<CompiledFlags, Map<string, EvaluationResult>>();

/** Prerequisite chains are acyclic (refused at publish and compile); this bounds a walk regardless. */
const MAX_DEPTH = 64;

function definition(doc: FlagsDocument, key: string): FlagDefinition | undefined {
  return Object.hasOwn(doc.flags, key) ? doc.flags[key] : undefined;
}

function profileOf(doc: FlagsDocument, key: string, def: FlagDefinition): FlagProfile {
  let cache = profiles.get(doc);
  if (!cache) {
    cache = new Map();
    profiles.set(doc, cache);
  }
  let profile = cache.get(key);
  if (!profile) {
    profile = { atoms: classOf(def), permission: false, killed: false, geo: [] };
    const seen = new Set<string>();
    const walk = (k: string, d: FlagDefinition, depth: number) => {
      if (seen.has(k)) return;
      seen.add(k);
      const p = profile as FlagProfile;
      if (d.kind === "permission") p.permission = true;
      if (d.enabled === false) p.killed = true;
      if (d.geo && (d.geo.allow !== undefined || d.geo.block !== undefined)) p.geo.push(k);
      for (const pre of d.prerequisites ?? []) {
        const pd = definition(doc, pre.flag);
        // A missing prerequisite cannot compile; refusing is the safe answer all the same.
        if (!pd || depth >= MAX_DEPTH) p.permission = true;
        else walk(pre.flag, pd, depth + 1);
      }
    };
    walk(key, def, 0);
    cache.set(key, profile);
  }
  return profile;
}

/** The shared, frozen PREVIEW result serving `variant` of `key` (one per flag and variant). */
function previewResult(compiled: CompiledFlags, key: string, variant: string): EvaluationResult | undefined {
  const flag = compiled.byKey.get(key);
  if (!flag || !Object.hasOwn(flag.variants, variant)) return undefined;
  let cache = previewResults.get(compiled);
  if (!cache) {
    cache = new Map();
    previewResults.set(compiled, cache);
  }
  const id = `${key}\u0000${variant}`;
  let r = cache.get(id);
  if (!r) {
    r = served(key, flag.type, variant, flag.variants[variant] as JsonValue, "PREVIEW", undefined);
    cache.set(id, r);
  }
  return r;
}

/**
 * The PREVIEW result of `key` for this request, or undefined when the token does not override it or
 * the override may not apply (see the module comment). `now` is epoch ms.
 */
export function previewOverride(
  grant: PreviewGrant,
  snapshot: PreviewSnapshot,
  key: string,
  ctx: EvaluationContext,
  now: number,
): EvaluationResult | undefined {
  const variant = grant.flags.get(key);
  if (variant === undefined) return undefined;
  if (grant.exp * 1000 <= now) return undefined;
  if (grant.sub !== undefined && grant.sub !== ctx.targetingKey) return undefined;
  const doc = snapshot.payload.flags;
  const def = definition(doc, key);
  if (!def) return undefined;
  const profile = profileOf(doc, key, def);
  if (profile.permission || profile.killed) return undefined;
  if (!inScope(grant.key, key, profile.atoms)) return undefined;
  for (const g of profile.geo) if (geoRestricts(snapshot.compiled, g, ctx)) return undefined;
  return previewResult(snapshot.compiled, key, variant);
}

/**
 * `results` (a fresh array, e.g. evaluateAll's) with every applicable override in place; how many
 * applied. Flags the results do not hold are not added: visibility is the caller's business.
 */
export function applyPreview(
  grant: PreviewGrant,
  snapshot: PreviewSnapshot,
  results: EvaluationResult[],
  ctx: EvaluationContext,
  now: number,
): number {
  let applied = 0;
  for (let i = 0; i < results.length; i++) {
    const key = results[i]!.key;
    if (!grant.flags.has(key)) continue;
    const r = previewOverride(grant, snapshot, key, ctx, now);
    if (r) {
      results[i] = r;
      applied++;
    }
  }
  return applied;
}
