/**
 * Which approval groups a new snapshot carries (src/policy/approvals.ts has the format). Every command
 * that signs a snapshot keeps the approvals that still say something about it - the live snapshot's,
 * an old version's on rollback, a proposal's - so that nobody's approval is lost by a publish that did
 * not touch what they approved, and drops the ones that say nothing new, so snapshots stay small.
 *
 * What a group says about a document: for each flag, its signers attest the definition the manifest
 * lists when that is the flag's current definition, or when the flag is disabled and the manifest's off
 * digest is the current one (a kill serves only the approved off value; the definition it attests is
 * the one an unkill puts back); for each gate, the gate's digest; and the deletions of what the live
 * snapshot has that it lists as `removed` / `removedGates`. A signature is kept when it attests
 * something (kid, item, definition) no signature before it does; a group with none left is dropped.
 * Candidates come most wanted first (the new signatures, then older groups).
 *
 * Signatures by a key this publisher has (its own, EDGEFLAGS_PUBLIC_KEYS / publicKeysFile) are verified
 * and dropped when they do not verify; others are kept as they are (the worker checks them). Pure
 * apart from WebCrypto.
 */
import { compactVerify, decodeProtectedHeader } from "jose";
import type { FlagsDocument } from "../flags/types";
import {
  APPROVAL_TYP,
  type ApprovalGroup,
  type ApprovalSignature,
  decodeManifest,
  type Manifest,
  signatureKid,
} from "../policy/approvals";
import { canonicalJson, DocumentDigests, gateDigest, gateId } from "../policy/digest";
import type { KeyRing } from "../snapshot/keys";
import { removalsOf } from "./policy";

/** Groups with the same manifest (payload) as one, each key's signature once (the first wins). */
export function mergeGroups(groups: readonly ApprovalGroup[]): ApprovalGroup[] {
  const byPayload = new Map<string, ApprovalSignature[]>();
  for (const g of groups) {
    const sigs = byPayload.get(g.payload) ?? [];
    byPayload.set(g.payload, sigs);
    for (const s of g.signatures) {
      const kid = signatureKid(s);
      if (!sigs.some((o) => o.signature === s.signature || (kid !== undefined && signatureKid(o) === kid))) {
        sigs.push(s);
      }
    }
  }
  return [...byPayload].map(([payload, signatures]) => ({ payload, signatures }));
}

/**
 * What a manifest attests in `doc`: `item\0definition digest` for each item it covers now, and
 * `item (removed)` for each flag or gate of `live` that `doc` deletes and the manifest approves deleting.
 */
export async function attestedBy(
  manifest: Manifest,
  doc: FlagsDocument,
  digests: DocumentDigests = new DocumentDigests(doc),
  live?: FlagsDocument,
): Promise<string[]> {
  const out: string[] = [];
  const { removed, removedGates } = removalsOf(live, doc);
  for (const key of removed) if (manifest.removed?.includes(key)) out.push(`flags.${key} (removed)`);
  for (const id of removedGates) if (manifest.removedGates?.includes(id)) out.push(`gates.${id} (removed)`);
  await Promise.all(
    Object.keys(doc.flags).map(async (key) => {
      const entry = Object.hasOwn(manifest.flags, key) ? manifest.flags[key] : undefined;
      if (!entry) return;
      if (entry[0] === (await digests.flag(key))) out.push(`flags.${key}\0${entry[0]}`);
      else if (doc.flags[key]?.enabled === false && entry[1] === (await digests.off(key))) {
        out.push(`flags.${key}\0${entry[0]}`);
      }
    }),
  );
  const gates = doc.gates ?? [];
  const gateDigests = await Promise.all(gates.map((g) => gateDigest(g)));
  gates.forEach((g, i) => {
    const id = gateId(g, i);
    const listed = manifest.gates && Object.hasOwn(manifest.gates, id) ? manifest.gates[id] : undefined;
    if (listed !== undefined && listed === gateDigests[i]) out.push(`gates.${id}\0${listed}`);
  });
  return out;
}

/** Whether a signature is good as far as this publisher can tell (unknown keys: left to the worker). */
async function plausible(sig: ApprovalSignature, payload: string, keys: KeyRing): Promise<boolean> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(`${sig.protected}.${payload}.${sig.signature}`);
  } catch {
    return false;
  }
  if (header.typ !== APPROVAL_TYP || typeof header.kid !== "string") return false;
  const key = keys.get(header.kid);
  if (!key) return true;
  if (header.alg !== key.alg) return false;
  try {
    await compactVerify(`${sig.protected}.${payload}.${sig.signature}`, key.key, { algorithms: [key.alg] });
    return true;
  } catch {
    return false;
  }
}

export interface CarryInput {
  doc: FlagsDocument;
  environment: string;
  /** Candidate groups, most wanted first. */
  groups: readonly ApprovalGroup[];
  /** Keys to verify signatures with (the others are kept unverified). */
  keys: KeyRing;
  /** The live document: what `doc` deletes of it may be attested too (manifests' `removed`). */
  live?: FlagsDocument;
}

export interface CarryResult {
  /** The groups to sign into the snapshot, in order. */
  groups: ApprovalGroup[];
  /** Candidate groups left out: nothing in them attests anything `doc` has that others do not. */
  dropped: number;
  /** Signatures left out because they do not verify with a key this publisher has. */
  invalid: string[];
}

/** The approvals a snapshot of `doc` carries, from `groups` (see the header). */
export async function carryApprovals(input: CarryInput): Promise<CarryResult> {
  const digests = new DocumentDigests(input.doc);
  const merged = mergeGroups(input.groups);
  const covered = new Set<string>();
  const kept: ApprovalGroup[] = [];
  const invalid: string[] = [];
  for (const group of merged) {
    const manifest = decodeManifest(group);
    if (!manifest || manifest.environment !== input.environment) continue;
    const attested = await attestedBy(manifest, input.doc, digests, input.live);
    if (attested.length === 0) continue;
    const signatures: ApprovalSignature[] = [];
    for (const sig of group.signatures) {
      const kid = signatureKid(sig);
      if (kid === undefined || !(await plausible(sig, group.payload, input.keys))) {
        invalid.push(`a signature of ${kid ?? "an unknown key"} does not verify`);
        continue;
      }
      const fresh = attested.filter((a) => !covered.has(`${kid}\0${a}`));
      if (fresh.length === 0) continue;
      for (const a of attested) covered.add(`${kid}\0${a}`);
      signatures.push(sig);
    }
    if (signatures.length > 0) kept.push({ payload: group.payload, signatures });
  }
  return { groups: kept, dropped: merged.length - kept.length, invalid };
}

/** `flags` and `gates` of a manifest, to compare two manifests of documents. */
const content = (m: Manifest) => ({ flags: m.flags, gates: m.gates ?? {} });

/** Whether two manifests attest the same definitions (issuedAt and note aside). */
export function sameContent(a: Manifest, b: Manifest): boolean {
  return canonicalJson(content(a)) === canonicalJson(content(b));
}

/** Whether manifest `a` approves deleting every flag and gate `b` deletes. */
export function coversRemovals(a: Manifest, b: Manifest): boolean {
  return (
    (b.removed ?? []).every((k) => a.removed?.includes(k)) &&
    (b.removedGates ?? []).every((id) => a.removedGates?.includes(id))
  );
}

/**
 * How the manifest `approved` differs from `actual` (the document's): one line per flag or gate, at
 * most `max` (then how many more).
 */
export function manifestDifferences(actual: Manifest, approved: Manifest, max = 10): string[] {
  const lines: string[] = [];
  const compare = (what: string, mine: Record<string, unknown>, theirs: Record<string, unknown>) => {
    for (const key of Object.keys(mine)) {
      if (!Object.hasOwn(theirs, key)) lines.push(`${what}.${key}: not in the approved manifest`);
      else if (canonicalJson(mine[key]) !== canonicalJson(theirs[key])) {
        lines.push(`${what}.${key}: the approved definition is another one`);
      }
    }
    for (const key of Object.keys(theirs)) {
      if (!Object.hasOwn(mine, key)) lines.push(`${what}.${key}: approved, but not in the document`);
    }
  };
  compare("flags", actual.flags, approved.flags);
  compare("gates", actual.gates ?? {}, approved.gates ?? {});
  return lines.length <= max ? lines : [...lines.slice(0, max), `... and ${lines.length - max} more`];
}
