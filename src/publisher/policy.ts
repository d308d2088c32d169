/**
 * The trust policy on the publisher's side (src/policy/policy.ts has the rules): reading the policy
 * file the worker has as EDGEFLAGS_POLICY, running the worker's own coverage check before a push, and
 * saying what a change still needs in words people act on ("needs 2 approvals ..., has 1 (alice); can
 * approve: alice, bob"). No I/O beyond what the settings already read.
 */
import type { FlagsDocument } from "../flags/types";
import type { ApprovalGroup } from "../policy/approvals";
import { type CoverageReport, checkCoverage, type ItemCoverage, stickyOf } from "../policy/check";
import { gateId } from "../policy/digest";
import { keyPolicy, type Policy, PolicyError, parsePolicy, ROLES } from "../policy/policy";
import type { KeyRing } from "../snapshot/keys";
import type { Settings } from "./config";
import { CliError, EXIT, type Output } from "./output";

export interface LoadedPolicy {
  policy: Policy;
  /** Where it came from, for messages ("--policy /path/policy.json"). */
  source: string;
}

/** The configured policy, parsed, or undefined when none is configured. */
export function loadPolicy(settings: Pick<Settings, "policy">): LoadedPolicy | undefined {
  if (!settings.policy) return undefined;
  try {
    return { policy: parsePolicy(settings.policy.json), source: settings.policy.source };
  } catch (err) {
    const problems = err instanceof PolicyError ? err.problems : [(err as Error).message];
    throw new CliError(
      EXIT.usage,
      `the policy (${settings.policy.source}) is not usable: ${problems.join("; ")}`,
    );
  }
}

/**
 * Unrevoked keys the policy gives a role that `ring` cannot verify: their approvals count for nothing
 * in a check run here (the worker has them in EDGEFLAGS_PUBLIC_KEYS).
 */
export function unverifiableKeys(policy: Policy, ring: KeyRing): string[] {
  return [...policy.keys.keys()].filter((kid) => !policy.revoked.has(kid) && !ring.has(kid));
}

/** Warns once that approvals by keys this publisher cannot verify are not counted here. */
export function warnUnverifiable(out: Output, loaded: LoadedPolicy, ring: KeyRing): void {
  const missing = unverifiableKeys(loaded.policy, ring);
  if (missing.length === 0) return;
  out.warning(
    `the policy names ${missing.length === 1 ? "key" : "keys"} ${missing.join(", ")} but no public key for ${missing.length === 1 ? "it" : "them"} is configured: ${missing.length === 1 ? "its" : "their"} approvals cannot be counted here; set publicKeysFile (or EDGEFLAGS_PUBLIC_KEYS) to the worker's EDGEFLAGS_PUBLIC_KEYS`,
  );
}

/** What `doc` deletes of `live`: flag keys and gate ids (a manifest lists them as approved removals). */
export function removalsOf(
  live: FlagsDocument | undefined,
  doc: FlagsDocument,
): { removed: string[]; removedGates: string[] } {
  if (!live) return { removed: [], removedGates: [] };
  const ids = new Set((doc.gates ?? []).map((g, i) => gateId(g, i)));
  return {
    removed: Object.keys(live.flags).filter((k) => !Object.hasOwn(doc.flags, k)),
    removedGates: (live.gates ?? []).map((g, i) => gateId(g, i)).filter((id) => !ids.has(id)),
  };
}

/** Whether a key is an on-call key that is not also a publisher: it signs only as a break-glass. */
export function isBreakGlassKey(policy: Policy, kid: string): boolean {
  const k = keyPolicy(policy, kid);
  return k !== undefined && !k.roles.includes("publisher") && k.roles.includes("oncall");
}

/**
 * Who a report assumes will publish: `--signer`, else the configured signing key's kid when the
 * policy lets it sign, else the policy's first unscoped publisher (then any publisher).
 */
export function reportSigner(policy: Policy, explicit: string | undefined, configured: string | undefined) {
  if (explicit) return explicit;
  const usable = (kid: string) => {
    const k = keyPolicy(policy, kid);
    return k !== undefined && (k.roles.includes("publisher") || k.roles.includes("oncall"));
  };
  if (configured && usable(configured)) return configured;
  const publishers = [...policy.keys.entries()].filter(
    ([kid, k]) => !policy.revoked.has(kid) && k.roles.includes("publisher"),
  );
  return (publishers.find(([, k]) => !k.scope) ?? publishers[0])?.[0] ?? configured ?? "(no publisher key)";
}

export interface CoverageCheck {
  doc: FlagsDocument;
  environment: string;
  signer: string;
  groups: readonly ApprovalGroup[];
  breakGlassReason?: string;
  loaded: LoadedPolicy;
  keys: KeyRing;
  /** The live document, whose flag classes the worker holds the new one to. */
  live: FlagsDocument | undefined;
}

/** The worker's coverage check, with what it needs from the publisher's side. */
export function coverage(input: CoverageCheck): Promise<CoverageReport> {
  return checkCoverage({
    doc: input.doc,
    environment: input.environment,
    signer: input.signer,
    groups: input.groups,
    breakGlassReason: input.breakGlassReason,
    policy: input.loaded.policy,
    keys: input.keys,
    sticky: input.live ? stickyOf(input.live) : undefined,
  });
}

const list = (kids: string[]) => (kids.length > 0 ? kids.join(", ") : "none in the policy");

/** What an item still needs, in one line (without the item's name). */
export function itemNeed(it: ItemCoverage): string {
  const has = `has ${it.by.length}${it.by.length > 0 ? ` (${it.by.join(", ")})` : ""}`;
  if (it.needs > 0) {
    return `needs ${it.needs} approval${it.needs === 1 ? "" : "s"} by distinct approver keys, ${has}; can approve: ${list(it.candidates)}`;
  }
  return `needs an approval by a publisher or approver key whose scope covers it, has none; can approve: ${list(it.candidates)}`;
}

/**
 * One line per problem of a report: per item what it needs, who attests it and who could approve it;
 * problems that are about the signer, or about an item for another reason (an on-call key's scope),
 * as the check worded them.
 */
export function coverageLines(report: CoverageReport): string[] {
  const lines: string[] = [];
  const explained = new Set<string>();
  for (const it of report.items) {
    if (it.ok) continue;
    const own = report.problems.find((p) => p.startsWith(`${it.item}:`));
    // Enough attestations but refused anyway: the check says why (an on-call key out of scope).
    if (it.by.length >= Math.max(1, it.needs) && own) lines.push(own);
    else lines.push(`${it.item}: ${itemNeed(it)}`);
    if (own) explained.add(own);
  }
  for (const p of report.problems) if (!explained.has(p) && !lines.includes(p)) lines.push(p);
  return lines;
}

/** The --json form of a report. */
export function coverageJson(report: CoverageReport) {
  return {
    ok: report.ok,
    problems: report.problems,
    items: report.items,
    ...(report.ignored.length > 0 ? { ignored: report.ignored } : {}),
  };
}

/** The policy in a few lines: keys by role (with scopes), approval rules, revoked keys. */
export function policySummary(policy: Policy): string[] {
  const lines: string[] = [];
  for (const role of ROLES) {
    const keys = [...policy.keys.entries()]
      .filter(([kid, k]) => k.roles.includes(role) && !policy.revoked.has(kid))
      .map(([kid, k]) => (k.scope ? `${kid} (${k.scope.join(", ")})` : kid));
    if (keys.length > 0) lines.push(`${role}: ${keys.join(", ")}`);
  }
  const rules = policy.approvals.map((r) => `${r.selector} needs ${r.count}`);
  lines.push(
    `approvals: ${rules.length > 0 ? rules.join(", ") : "no rules (every flag needs one publisher or approver)"}`,
  );
  if (policy.revoked.size > 0) lines.push(`revoked: ${[...policy.revoked].join(", ")}`);
  return lines;
}

/** The --json form of the policy. */
export function policyJson(policy: Policy) {
  return {
    keys: Object.fromEntries(
      [...policy.keys.entries()].map(([kid, k]) => [
        kid,
        { roles: k.roles, ...(k.scope ? { scope: k.scope } : {}), revoked: policy.revoked.has(kid) },
      ]),
    ),
    approvals: Object.fromEntries(policy.approvals.map((r) => [r.selector, r.count])),
    revoked: [...policy.revoked],
  };
}
