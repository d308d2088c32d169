/**
 * Shared by the trust-policy tests (Node): the policy keys (test/fixtures/policy-keys.json), the policy
 * of the coverage matrix, signed snapshots with approval groups, and a verdict helper that turns
 * verifySnapshot's answer into "ok" or the ERR_SNAPSHOT_POLICY message.
 */
import { readFileSync } from "node:fs";
import { generateKeyPair } from "jose";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import type { ApprovalGroup } from "../../src/policy/approvals";
import { approveGroup, groupOf, manifestOf } from "../../src/policy/manifest";
import type { PolicyFile } from "../../src/policy/policy";
import { SnapshotError } from "../../src/snapshot/errors";
import { type SnapshotAudit, snapshotPayload } from "../../src/snapshot/format";
import { type KeyRing, loadKeyRing } from "../../src/snapshot/keys";
import { importSigningKey, type SigningKey, signSnapshot } from "../../src/snapshot/sign";
import { verifySnapshot } from "../../src/snapshot/verify";
import { POLICY_KIDS, type PolicyKeys, type PolicyKid, policyJwks } from "../fixtures/policy-keys";

export const KIDS = POLICY_KIDS;
export type Kid = PolicyKid;

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/policy-keys.json", import.meta.url), "utf8"),
) as PolicyKeys;

export const JWKS = policyJwks(fixture);

export const ENV = "production";
/** 2026-01-15T12:00:00Z */
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** The matrix policy: payments and permission flags need two approvals; teams publish their own. */
export const POLICY: PolicyFile = {
  keys: {
    "ci-publisher": { roles: ["publisher"] },
    alice: { roles: ["approver"] },
    bob: { roles: ["approver"] },
    "carol-payments": { roles: ["approver"], scope: ["owner:payments-team"] },
    "team-web": { roles: ["publisher"], scope: ["owner:web-team"] },
    oncall: { roles: ["oncall"] },
    "qa-preview": { roles: ["preview"] },
  },
  approvals: { "tag:payments": 2, "kind:permission": 2 },
};

const signers = new Map<string, Promise<SigningKey>>();
/** The private key of a fixture kid (imported once). */
export function signer(kid: Kid): Promise<SigningKey> {
  let s = signers.get(kid);
  if (!s) {
    s = importSigningKey(fixture[kid].private);
    signers.set(kid, s);
  }
  return s;
}

/** A key nobody trusts, calling itself `kid` (e.g. a forged "alice"). */
export async function stranger(kid: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  return { kid, alg: "EdDSA", key: privateKey };
}

/** A key ring trusting every fixture key, under `policy` (null: no policy at all). */
export function ring(policy: PolicyFile | null = POLICY): Promise<KeyRing> {
  return loadKeyRing(JWKS, policy ?? undefined);
}

export const payFlag: FlagDefinition = {
  owner: "payments-team",
  tags: ["payments", "checkout"],
  clientVisible: true,
  variants: { on: true, off: false },
  offVariant: "off",
  fallthrough: "on",
};

/**
 * A guarded payments flag, a guarded permission flag, a web-team flag, a search-team flag and an
 * ownerless flag; `changes` replaces or adds flags.
 */
export function baseDoc(changes: Record<string, FlagDefinition> = {}): FlagsDocument {
  return {
    flags: {
      "pay-checkout": payFlag,
      "admin-tools": {
        owner: "security-team",
        kind: "permission",
        rules: [
          { id: "staff", when: [{ attribute: "identity.role", op: "in", values: ["staff"] }], serve: "on" },
        ],
        fallthrough: "off",
      },
      "web-banner": { owner: "web-team", clientVisible: true, fallthrough: "on" },
      "search-v2": { owner: "search-team", fallthrough: { split: { on: 10, off: 90 } } },
      misc: { fallthrough: "off" },
      ...changes,
    },
  };
}

/**
 * An approval group over all of `doc` (and the removal of `removed`), signed by `kids` in order
 * (repeats kept as extra signatures).
 */
export async function approve(
  doc: FlagsDocument,
  kids: readonly (Kid | SigningKey)[],
  environment = ENV,
  removed?: string[],
): Promise<ApprovalGroup> {
  const group = groupOf(await manifestOf(doc, { environment, now: NOW, ...(removed ? { removed } : {}) }));
  const signatures = [];
  for (const k of kids) {
    const key = typeof k === "string" ? await signer(k) : k;
    signatures.push(...(await approveGroup(group, key)).signatures);
  }
  return { ...group, signatures };
}

export interface SnapshotOptions {
  signer?: Kid | SigningKey;
  groups?: ApprovalGroup[];
  /** `audit.breakGlass.reason` (an audit block is added around it). */
  reason?: string;
  audit?: SnapshotAudit;
  environment?: string;
}

/** A snapshot of `doc` signed by ci-publisher unless another signer is named. */
export async function snapshot(doc: FlagsDocument, o: SnapshotOptions = {}): Promise<string> {
  const audit: SnapshotAudit | undefined =
    o.audit ??
    (o.reason !== undefined
      ? {
          actor: "on-call",
          changes: { added: [], removed: [], changed: [], text: "" },
          breakGlass: { reason: o.reason },
        }
      : undefined);
  const payload = snapshotPayload(doc, {
    environment: o.environment ?? ENV,
    version: 2,
    now: NOW,
    sourceDigest: "sha256:test",
    ...(audit ? { audit } : {}),
    ...(o.groups ? { approvals: o.groups } : {}),
  });
  const key = typeof o.signer === "object" ? o.signer : await signer(o.signer ?? "ci-publisher");
  return signSnapshot(payload, key);
}

/**
 * "ok" when verifySnapshot accepts, else the ERR_SNAPSHOT_POLICY message (any other refusal is a
 * broken test and throws).
 */
export async function verdict(
  jws: string,
  keys: KeyRing,
  sticky?: ReadonlyMap<string, readonly string[]>,
): Promise<string> {
  try {
    await verifySnapshot(jws, { keys, environment: ENV, now: NOW, ...(sticky ? { sticky } : {}) });
    return "ok";
  } catch (err) {
    if (err instanceof SnapshotError && err.code === "ERR_SNAPSHOT_POLICY") return err.message;
    throw err;
  }
}
