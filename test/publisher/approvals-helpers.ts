/** Shared by the approval tests: the test keys of test/fixtures/policy-keys.json and the trust policy. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { POLICY_KIDS } from "../fixtures/policy-keys";

export type FixtureKeys = Record<string, { public: Record<string, string>; private: Record<string, string> }>;

export const fixtureKeys = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/policy-keys.json"), "utf8"),
) as FixtureKeys;

export const KIDS: readonly string[] = POLICY_KIDS;

/**
 * CI publishes everything; alice and bob approve everything, carol only payments flags; payments flags
 * need two approvals; the on-call key covers payments and the web team's flags; team-web publishes its
 * own flags; qa-preview can sign nothing that counts here.
 */
export const POLICY = {
  keys: {
    "ci-publisher": { roles: ["publisher"] },
    alice: { roles: ["approver"] },
    bob: { roles: ["approver"] },
    "carol-payments": { roles: ["approver"], scope: ["tag:payments"] },
    oncall: { roles: ["oncall"], scope: ["tag:payments", "owner:web-team"] },
    "qa-preview": { roles: ["preview"] },
    "team-web": { roles: ["publisher"], scope: ["owner:web-team"] },
  },
  approvals: { "tag:payments": 2 },
};
