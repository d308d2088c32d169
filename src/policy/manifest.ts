/**
 * Making and signing approval manifests (the publisher's side of src/policy/approvals.ts): the
 * manifest of a whole candidate document, and one key's signature added to a group. Runs in Node (the
 * CLI) and in tests; WebCrypto through jose.
 */
import { base64url, CompactSign } from "jose";
import type { FlagsDocument } from "../flags/types";
import type { SigningKey } from "../snapshot/sign";
import {
  APPROVAL_TYP,
  type ApprovalGroup,
  type ApprovalSignature,
  MANIFEST_FORMAT,
  type Manifest,
  signatureKid,
} from "./approvals";
import { DocumentDigests, gateDigest, gateId } from "./digest";

export interface ManifestInput {
  environment: string;
  /** Flags of the live snapshot that `doc` no longer has (their removal is part of what is approved). */
  removed?: string[];
  /** Gates (by id) of the live snapshot that `doc` no longer has. */
  removedGates?: string[];
  note?: string;
  /** Epoch ms; default now. */
  now?: number;
}

/** The manifest of every flag and gate of `doc`. */
export async function manifestOf(doc: FlagsDocument, input: ManifestInput): Promise<Manifest> {
  const digests = new DocumentDigests(doc);
  const flags: Manifest["flags"] = {};
  const keys = Object.keys(doc.flags);
  const entries = await Promise.all(keys.map((k) => Promise.all([digests.flag(k), digests.off(k)])));
  keys.forEach((k, i) => {
    const [d, o] = entries[i] as [string | null, string | null];
    flags[k] = [d as string, o as string];
  });
  const gates: Record<string, string> = {};
  const list = doc.gates ?? [];
  const gateDigests = await Promise.all(list.map((g) => gateDigest(g)));
  list.forEach((g, i) => {
    gates[gateId(g, i)] = gateDigests[i] as string;
  });
  return {
    format: MANIFEST_FORMAT,
    environment: input.environment,
    issuedAt: new Date(input.now ?? Date.now()).toISOString(),
    flags,
    ...(list.length > 0 ? { gates } : {}),
    ...(input.removed?.length ? { removed: [...input.removed].sort() } : {}),
    ...(input.removedGates?.length ? { removedGates: [...input.removedGates].sort() } : {}),
    ...(input.note ? { note: input.note } : {}),
  };
}

/** A group with no signatures yet around `manifest`. */
export function groupOf(manifest: Manifest): ApprovalGroup {
  return { payload: base64url.encode(JSON.stringify(manifest)), signatures: [] };
}

/** `signer`'s signature over the group's manifest (exactly its payload bytes). */
export async function signGroup(group: ApprovalGroup, signer: SigningKey): Promise<ApprovalSignature> {
  const jws = await new CompactSign(base64url.decode(group.payload))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: APPROVAL_TYP })
    .sign(signer.key);
  const [protectedHeader, payload, signature] = jws.split(".") as [string, string, string];
  if (payload !== group.payload) throw new Error("approval payload changed while signing");
  return { protected: protectedHeader, signature };
}

/** The group with `signer`'s signature added (replacing an earlier one by the same key). */
export async function approveGroup(group: ApprovalGroup, signer: SigningKey): Promise<ApprovalGroup> {
  const signature = await signGroup(group, signer);
  const others = group.signatures.filter((s) => signatureKid(s) !== signer.kid);
  return { payload: group.payload, signatures: [...others, signature] };
}
