import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";
import type { Env } from "../../src/http/env";
import type { ApprovalGroup } from "../../src/policy/approvals";
import { approveGroup, groupOf, manifestOf } from "../../src/policy/manifest";
import type { PolicyFile } from "../../src/policy/policy";
import { type SnapshotAudit, snapshotPayload } from "../../src/snapshot/format";
import { importSigningKey, type SigningKey, signSnapshot } from "../../src/snapshot/sign";
import { type PolicyKeys, type PolicyKid, policyJwks } from "../fixtures/policy-keys";
import { testEnv } from "./helpers";

export type { PolicyKid };

const keys = JSON.parse(
  (testEnv as unknown as { POLICY_FIXTURE_KEYS: string }).POLICY_FIXTURE_KEYS,
) as PolicyKeys;

export const POLICY_JWKS = JSON.stringify(policyJwks(keys));

/** Payments flags need two approvals; teams publish their own flags; on-call can kill. */
export const POLICY: PolicyFile = {
  keys: {
    "ci-publisher": { roles: ["publisher"] },
    alice: { roles: ["approver"] },
    bob: { roles: ["approver"] },
    "carol-payments": { roles: ["approver"], scope: ["owner:payments-team"] },
    "team-web": { roles: ["publisher"], scope: ["owner:web-team"] },
    oncall: { roles: ["oncall"] },
    "qa-preview": { roles: ["preview"], scope: ["tag:checkout"] },
  },
  approvals: { "tag:payments": 2, "kind:permission": 2 },
};

/** Settings for a worker under `policy` in `environment`. */
export function policyEnv(environment: string, policy: PolicyFile = POLICY): Partial<Env> {
  return {
    EDGEFLAGS_ENV: environment,
    EDGEFLAGS_PUBLIC_KEYS: POLICY_JWKS,
    EDGEFLAGS_POLICY: JSON.stringify(policy),
  };
}

export function policySigner(kid: PolicyKid): Promise<SigningKey> {
  return importSigningKey(keys[kid].private);
}

export const payFlag: FlagDefinition = {
  owner: "payments-team",
  tags: ["payments", "checkout"],
  clientVisible: true,
  fallthrough: "off",
};

/** A payments flag (guarded: two approvals), a web-team flag and a search-team flag. */
export function baseDoc(pay: Partial<FlagDefinition> = {}): FlagsDocument {
  return {
    flags: {
      "pay-new-checkout": { ...payFlag, ...pay } as FlagDefinition,
      "web-banner": { owner: "web-team", clientVisible: true, fallthrough: "on" },
      "search-v2": { owner: "search-team", clientVisible: true, fallthrough: "off" },
    },
  };
}

/** An approval group over all of `doc`, signed by `kids` in order (repeats included). */
export async function approvals(
  doc: FlagsDocument,
  environment: string,
  kids: PolicyKid[],
): Promise<ApprovalGroup> {
  let group = groupOf(await manifestOf(doc, { environment }));
  for (const kid of kids) {
    const signature = (await approveGroup({ ...group, signatures: [] }, await policySigner(kid))).signatures;
    group = { ...group, signatures: [...group.signatures, ...signature] };
  }
  return group;
}

export interface SignOptions {
  version: number;
  signer?: PolicyKid;
  groups?: ApprovalGroup[];
  audit?: SnapshotAudit;
}

/** A snapshot of `doc` signed by `signer` (default ci-publisher) carrying `groups`. */
export async function policySnapshot(
  doc: FlagsDocument,
  environment: string,
  o: SignOptions,
): Promise<string> {
  const payload = snapshotPayload(doc, {
    environment,
    version: o.version,
    sourceDigest: "sha256:test",
    approvals: o.groups,
    audit: o.audit,
  });
  return signSnapshot(payload, await policySigner(o.signer ?? "ci-publisher"));
}

/** The audit block of an on-call kill. */
export function breakGlass(reason: string, flags: string[]): SnapshotAudit {
  return {
    actor: "on-call",
    changes: {
      added: [],
      removed: [],
      changed: flags.map((flag) => ({ flag, fields: ["enabled"] })),
      text: "kill",
    },
    killed: flags.map((flag) => ({ flag, previousEnabled: null })),
    breakGlass: { reason },
  };
}
