/**
 * Whether a snapshot's signatures cover every flag and gate it serves, under the root policy. Runs on
 * every load (cold isolate, refresh, signal, intake) and needs nothing but the snapshot, the policy and
 * the recorded classes (`sticky`); the publisher runs the same code to say what a proposal still needs.
 *
 * The rules, per flag F (a gate follows the flag it gates):
 * - N = the approvals F needs: the largest count of a policy rule selecting F by key, by what it is, or
 *   by what it was when the last trusted snapshot was accepted (sticky), so a snapshot cannot drop a
 *   tag or change an owner to escape a rule or enter a key's scope.
 * - A key *attests* F when it signed a manifest listing F's current definition digest, or, while F is
 *   disabled, F's off digest (a kill serves only the approved off value). The snapshot's own signer
 *   attests everything it signed at its current definition.
 * - N = 0: F needs one attestation by a publisher or approver whose scope covers F. The signer's own
 *   signature does this when it is a publisher in scope, at no cost (no digest is computed).
 * - N >= 1: F needs attestations by N distinct approver keys whose scopes cover F. A key counts once;
 *   unknown, revoked and out-of-scope keys count zero.
 * - A flag or gate the last trusted snapshot had (sticky) may be dropped by the signer in its scope
 *   when it needs no approvals, else only with manifests naming it in `removed` / `removedGates` (N
 *   approvers for what needs N). On-call keys cannot drop anything.
 * - The signer must be a publisher or on-call key. An on-call key attests nothing itself: alone it can
 *   only disable flags in its scope whose off value is already attested, or put back definitions that
 *   are (previously approved), and the snapshot must carry `audit.breakGlass.reason`.
 */
import type { FlagsDocument, GateDefinition } from "../flags/types";
import type { KeyRing } from "../snapshot/keys";
import { type ApprovalGroup, type Manifest, type VerifiedApproval, verifyApprovals } from "./approvals";
import { DocumentDigests, gateDigest, gateId } from "./digest";
import {
  classOf,
  inScope,
  type KeyPolicy,
  keyPolicy,
  type Policy,
  type Role,
  requiredApprovals,
} from "./policy";

export interface CoverageInput {
  doc: FlagsDocument;
  environment: string;
  /** Key id of the snapshot's signature. */
  signer: string;
  groups: readonly ApprovalGroup[];
  /** `audit.breakGlass.reason` of the snapshot, when it has one. */
  breakGlassReason?: string;
  policy: Policy;
  keys: KeyRing;
  /** Classes recorded from the last trusted snapshot (flag key -> class atoms), and its gates. */
  sticky?: Sticky;
}

/**
 * What the last trusted snapshot says about each flag: its class atoms by flag key, and its gates
 * (id -> gated flag), so that what it had cannot be reclassified or dropped unnoticed.
 */
export type Sticky = ReadonlyMap<string, readonly string[]> & {
  readonly gates?: ReadonlyMap<string, string>;
};

/** What `doc` says as the last trusted snapshot: each flag's class, and each gate's flag by id. */
export function stickyOf(doc: Pick<FlagsDocument, "flags" | "gates">): Sticky {
  const classes = new Map<string, readonly string[]>();
  for (const [key, flag] of Object.entries(doc.flags)) classes.set(key, classOf(flag));
  const gates = new Map<string, string>((doc.gates ?? []).map((g, i) => [gateId(g, i), g.flag]));
  return Object.assign(classes, { gates });
}

export interface ItemCoverage {
  /** `flags.<key>` or `gates.<id>`. */
  item: string;
  /** Approvals needed (0: one attestation by a publisher or approver in scope). */
  needs: number;
  /** Keys that attest it and count. */
  by: string[];
  /** Covered only through its off digest (a kill). */
  offOnly: boolean;
  ok: boolean;
  /** Approver keys whose approval would count (in scope, unrevoked). */
  candidates: string[];
}

export interface CoverageReport {
  ok: boolean;
  /** One line per problem, for people and for ERR_SNAPSHOT_POLICY. */
  problems: string[];
  /** Items that needed more than the signer's own signature. */
  items: ItemCoverage[];
  /** Approval signatures that count for nothing, and why. */
  ignored: string[];
}

interface Item {
  item: string;
  flagKey: string;
  atoms: string[];
  sticky?: readonly string[];
  needs: number;
  disabled: boolean;
  digest: () => Promise<string | null>;
  off: () => Promise<string | null>;
  entry: (m: VerifiedApproval["manifest"]) => string[] | undefined;
  /** A guarded flag the snapshot drops: only approver manifests naming it count, never the signer. */
  removal?: boolean;
}

const has = (k: KeyPolicy | undefined, role: Role) => k?.roles.includes(role) === true;

export async function checkCoverage(input: CoverageInput): Promise<CoverageReport> {
  const { doc, policy, sticky } = input;
  const problems: string[] = [];
  const signer = keyPolicy(policy, input.signer);
  if (!signer) {
    const why = policy.revoked.has(input.signer) ? "is revoked" : "has no role in the policy";
    return fail(`the snapshot's signing key ${input.signer} ${why}`);
  }
  if (!has(signer, "publisher") && !has(signer, "oncall")) {
    return fail(
      `key ${input.signer} may not sign snapshots (roles: ${signer.roles.join(", ")}; needs publisher or oncall)`,
    );
  }
  const breakGlass = !has(signer, "publisher");
  if (breakGlass && !input.breakGlassReason?.trim()) {
    return fail(`key ${input.signer} is an on-call key: its snapshots must carry audit.breakGlass.reason`);
  }

  // What needs more than the signer's own signature.
  const digests = new DocumentDigests(doc);
  const pending: Item[] = [];
  const classes = new Map<string, { atoms: string[]; sticky?: readonly string[]; needs: number }>();
  for (const key of Object.keys(doc.flags)) {
    const flag = doc.flags[key] as FlagsDocument["flags"][string];
    const atoms = classOf(flag);
    const st = sticky?.get(key);
    const needs = requiredApprovals(policy, key, atoms, st);
    classes.set(key, { atoms, sticky: st, needs });
    if (needs === 0 && !breakGlass && inScope(signer, key, atoms, st)) continue;
    pending.push({
      item: `flags.${key}`,
      flagKey: key,
      atoms,
      sticky: st,
      needs,
      disabled: flag.enabled === false,
      digest: () => digests.flag(key),
      off: () => digests.off(key),
      entry: (m) => (Object.hasOwn(m.flags, key) ? m.flags[key] : undefined),
    });
  }
  (doc.gates ?? []).forEach((gate: GateDefinition, i) => {
    const c = classes.get(gate.flag);
    if (!c) return; // compile refuses a gate on a missing flag
    if (c.needs === 0 && !breakGlass && inScope(signer, gate.flag, c.atoms, c.sticky)) return;
    const id = gateId(gate, i);
    pending.push({
      item: `gates.${id}`,
      flagKey: gate.flag,
      atoms: c.atoms,
      sticky: c.sticky,
      needs: c.needs,
      disabled: false,
      digest: () => gateDigest(gate),
      off: () => Promise.resolve(null),
      entry: (m) => {
        const g = m.gates && Object.hasOwn(m.gates, id) ? m.gates[id] : undefined;
        return g === undefined ? undefined : [g, ""];
      },
    });
  });
  // What the last trusted snapshot had and this one drops. Deleting a flag (clients then fall back to
  // the default in their code) or a gate (its paths open) is a change like any other: the signer may
  // do it in its scope for what needs no approvals; anything else needs manifests naming it in
  // `removed` / `removedGates`, by approvers for what needs approvals. On-call keys cannot delete.
  const removal = (
    item: string,
    flagKey: string,
    st: readonly string[],
    listed: (m: Manifest) => boolean,
  ) => {
    const atoms = classes.get(flagKey)?.atoms ?? [...st];
    const needs = requiredApprovals(policy, flagKey, atoms, st);
    if (breakGlass) {
      problems.push(`${item}: an on-call key cannot delete`);
      return;
    }
    if (needs === 0 && inScope(signer, flagKey, atoms, st)) return;
    pending.push({
      item,
      flagKey,
      atoms,
      sticky: st,
      needs,
      disabled: false,
      digest: () => Promise.resolve("removed"),
      off: () => Promise.resolve(null),
      entry: (m) => (listed(m) ? ["removed", ""] : undefined),
      removal: true,
    });
  };
  for (const [key, st] of sticky ?? []) {
    if (!Object.hasOwn(doc.flags, key))
      removal(`flags.${key} (removed)`, key, st, (m) => m.removed?.includes(key) === true);
  }
  if (sticky?.gates) {
    const ids = new Set((doc.gates ?? []).map((g, i) => gateId(g, i)));
    for (const [id, flagKey] of sticky.gates) {
      if (ids.has(id)) continue;
      const st = sticky.get(flagKey) ?? [];
      removal(`gates.${id} (removed)`, flagKey, st, (m) => m.removedGates?.includes(id) === true);
    }
  }
  if (problems.length > 0) return { ok: false, problems, items: [], ignored: [] };
  if (pending.length === 0) return { ok: true, problems, items: [], ignored: [] };

  // Worth the crypto: keys whose attestation can count. The signer's own signature in a group adds
  // nothing a publisher signer does not already attest by signing the snapshot.
  const counts = (kid: string) => {
    if (kid === input.signer && !breakGlass) return false;
    const k = keyPolicy(policy, kid);
    return has(k, "approver") || has(k, "publisher");
  };
  const { approvals, ignored } = await verifyApprovals(input.groups, input.keys, input.environment, counts);

  const items: ItemCoverage[] = [];
  for (const it of pending) {
    const [digest, off] = await Promise.all([it.digest(), it.disabled ? it.off() : Promise.resolve(null)]);
    const full = new Set<string>();
    const offMatch = new Set<string>();
    // The signer attests what it signed, at its current definition.
    if (!breakGlass && !(it.removal && it.needs > 0)) full.add(input.signer);
    for (const a of approvals) {
      const e = it.entry(a.manifest);
      if (!e) continue;
      if (e[0] === digest) full.add(a.kid);
      else if (off !== null && e[1] === off) offMatch.add(a.kid);
    }
    const role: Role[] = it.needs > 0 ? ["approver"] : ["publisher", "approver"];
    const counted = (kid: string) => {
      const k = keyPolicy(policy, kid);
      return role.some((r) => has(k, r)) && inScope(k as KeyPolicy, it.flagKey, it.atoms, it.sticky);
    };
    const byFull = [...full].filter(counted);
    const byAll = [...new Set([...byFull, ...[...offMatch].filter(counted)])];
    const want = Math.max(1, it.needs);
    let ok = byAll.length >= want;
    const offOnly = byFull.length < want && ok;
    if (ok && offOnly && breakGlass && !inScope(signer, it.flagKey, it.atoms, it.sticky)) {
      ok = false;
      problems.push(`${it.item}: disabled by on-call key ${input.signer}, whose scope does not cover it`);
    }
    const candidates = [...policy.keys.keys()].filter(
      (kid) => !policy.revoked.has(kid) && has(policy.keys.get(kid), "approver") && counted(kid),
    );
    items.push({ item: it.item, needs: it.needs, by: byAll.sort(), offOnly, ok, candidates });
    if (!ok && !problems.some((p) => p.startsWith(`${it.item}:`))) {
      problems.push(
        it.needs > 0
          ? `${it.item}: needs ${it.needs} approvals by distinct approver keys in scope, has ${byAll.length}${byAll.length ? ` (${byAll.join(", ")})` : ""}`
          : `${it.item}: not signed by a publisher or approver key whose scope covers it`,
      );
    }
  }
  return { ok: problems.length === 0, problems, items, ignored };

  function fail(problem: string): CoverageReport {
    return { ok: false, problems: [problem], items: [], ignored: [] };
  }
}
