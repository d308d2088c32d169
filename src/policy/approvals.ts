/**
 * Approvals: signed statements "I approve these flag definitions", carried inside the snapshot so that
 * every edge location can count them on every load (no predecessor, no central service).
 *
 * An approval group is a JWS in the general JSON serialization (RFC 7515 section 7.2.1): one payload,
 * the manifest, and any number of signatures over it, each by one key (`kid` in its protected header,
 * `typ` edgeflags-approval+jws). A manifest lists, per flag, the digest of its definition and the digest
 * of what it serves when disabled (src/policy/digest.ts), and per gate the digest of the gate.
 * Two approvers of one proposal add two signatures to one group, so a snapshot carries a few groups,
 * not one signature per flag.
 *
 * Decoding is pure; verification uses WebCrypto.
 */
import { isMap } from "../flags/json-value";
import * as base64url from "../snapshot/base64url";
import { decodeHeader, signatureVerifies } from "../snapshot/jws";
import { isSnapshotAlgorithm, type KeyRing, type TrustedKey } from "../snapshot/keys";

export const APPROVAL_TYP = "edgeflags-approval+jws";
export const MANIFEST_FORMAT = 1;

/** Per flag: [definition digest, off digest]. */
export type FlagEntry = [string, string];

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** Approvals count only in this environment. */
  environment: string;
  /** When the manifest was made (the proposal). */
  issuedAt: string;
  flags: Record<string, FlagEntry>;
  gates?: Record<string, string>;
  /** Flags the proposal deletes: approving the manifest approves their removal. */
  removed?: string[];
  /** Gates (by id) the proposal deletes. */
  removedGates?: string[];
  /** Free text: what was proposed (e.g. a pull request). */
  note?: string;
}

export interface ApprovalSignature {
  protected: string;
  signature: string;
}

/** A JWS JSON general serialization whose payload is a manifest. */
export interface ApprovalGroup {
  payload: string;
  signatures: ApprovalSignature[];
}

/** A signature that verified, with its signer. */
export interface VerifiedApproval {
  kid: string;
  manifest: Manifest;
}

const decoder = new TextDecoder();

const encoder = new TextEncoder();

/**
 * Checks a JWS signature over its signing input directly with WebCrypto: unlike a full JWS verify it
 * does not decode the payload again (a manifest is decoded once, for all its signatures). Rejects
 * when it does not verify.
 */
async function verifySignature(
  key: TrustedKey,
  protectedHeader: string,
  payload: Uint8Array,
  signature: string,
): Promise<void> {
  // The signing input is `protected.payload` (ASCII): the payload's bytes are encoded once per group.
  const head = encoder.encode(`${protectedHeader}.`);
  const input = new Uint8Array(head.length + payload.length);
  input.set(head);
  input.set(payload, head.length);
  if (!(await signatureVerifies(key, input, signature))) throw new Error("signature does not verify");
}

/** Whether `x` has the shape of an approval group (not whether it verifies). */
export function isApprovalGroup(x: unknown): x is ApprovalGroup {
  return (
    isMap(x) &&
    typeof x.payload === "string" &&
    Array.isArray(x.signatures) &&
    x.signatures.every((s) => isMap(s) && typeof s.protected === "string" && typeof s.signature === "string")
  );
}

/** The manifest of a group, or undefined when it is not one (such a group counts for nothing). */
export function decodeManifest(group: ApprovalGroup): Manifest | undefined {
  let m: unknown;
  try {
    m = JSON.parse(decoder.decode(base64url.decode(group.payload)));
  } catch {
    return undefined;
  }
  if (
    !isMap(m) ||
    m.format !== MANIFEST_FORMAT ||
    typeof m.environment !== "string" ||
    typeof m.issuedAt !== "string" ||
    !isMap(m.flags) ||
    !Object.values(m.flags).every(
      (e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && typeof e[1] === "string",
    ) ||
    (m.gates !== undefined &&
      !(isMap(m.gates) && Object.values(m.gates).every((g) => typeof g === "string"))) ||
    (m.removed !== undefined &&
      !(Array.isArray(m.removed) && m.removed.every((r) => typeof r === "string"))) ||
    (m.removedGates !== undefined &&
      !(Array.isArray(m.removedGates) && m.removedGates.every((r) => typeof r === "string")))
  ) {
    return undefined;
  }
  return m as unknown as Manifest;
}

/** The `kid` a signature claims (unverified), or undefined. */
export function signatureKid(sig: ApprovalSignature): string | undefined {
  const kid = decodeHeader(sig.protected)?.kid;
  return typeof kid === "string" ? kid : undefined;
}

/**
 * The signatures of `groups` that verify with a trusted key and whose manifest is for `environment`,
 * restricted to `wanted` signers when given (only keys whose approval can count are worth the crypto).
 * Anything else - unknown key, wrong `typ` or algorithm, a `crit` header, bad signature, other
 * environment - counts for nothing and is reported in `ignored`.
 */
export async function verifyApprovals(
  groups: readonly ApprovalGroup[],
  keys: KeyRing,
  environment: string,
  wanted?: (kid: string) => boolean,
): Promise<{ approvals: VerifiedApproval[]; ignored: string[] }> {
  const approvals: VerifiedApproval[] = [];
  const ignored: string[] = [];
  const work: Promise<void>[] = [];
  groups.forEach((group, g) => {
    const manifest = decodeManifest(group);
    if (!manifest) {
      ignored.push(`approvals[${g}]: not a manifest`);
      return;
    }
    if (manifest.environment !== environment) {
      ignored.push(`approvals[${g}]: for environment ${manifest.environment}`);
      return;
    }
    const seen = new Set<string>();
    let payloadBytes: Uint8Array | undefined;
    const bytes = () => {
      payloadBytes ??= encoder.encode(group.payload);
      return payloadBytes;
    };
    group.signatures.forEach((sig, s) => {
      const where = `approvals[${g}].signatures[${s}]`;
      const header = decodeHeader(sig.protected);
      if (!header) {
        ignored.push(`${where}: malformed header`);
        return;
      }
      if (header.crit !== undefined) {
        // No JWS extension is supported here, as for snapshots and signed tokens.
        ignored.push(`${where}: critical extensions (crit) are not supported`);
        return;
      }
      const kid = typeof header.kid === "string" ? header.kid : undefined;
      const key = kid === undefined ? undefined : keys.get(kid);
      if (!kid || !key) {
        ignored.push(`${where}: no trusted key ${String(kid)}`);
        return;
      }
      if (header.typ !== APPROVAL_TYP || !isSnapshotAlgorithm(header.alg) || header.alg !== key.alg) {
        ignored.push(`${where}: not an approval signature of key ${kid}`);
        return;
      }
      if (wanted && !wanted(kid)) return;
      // A key counts once per group, and only through a signature that verifies: one that merely
      // claims its kid must not hide the real one.
      work.push(
        verifySignature(key, sig.protected, bytes(), sig.signature).then(
          () => {
            if (seen.has(kid)) return;
            seen.add(kid);
            approvals.push({ kid, manifest });
          },
          () => {
            ignored.push(`${where}: signature of ${kid} does not verify`);
          },
        ),
      );
    });
  });
  await Promise.all(work);
  return { approvals, ignored };
}
