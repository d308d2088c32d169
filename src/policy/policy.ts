/**
 * The root trust policy: which signing keys have which roles and scopes, and which flags need how many
 * approvals. It lives in the worker's configuration (EDGEFLAGS_POLICY, set at deploy time next to
 * EDGEFLAGS_PUBLIC_KEYS), never in a snapshot, so nothing a snapshot carries can loosen it. The
 * publisher reads the same file to tell people what a change needs. Pure, no I/O.
 *
 * Selectors name flags by what they are: `tag:payments`, `owner:payments-team`, `kind:permission`,
 * or `flag:<glob>` over the flag key (`*` matches any run of characters, e.g. `flag:pay-*`).
 */

export const ROLES = ["publisher", "approver", "oncall", "preview"] as const;
export type Role = (typeof ROLES)[number];

/** What a key may do, and to which flags. */
export interface KeyPolicy {
  roles: readonly Role[];
  /** Selectors; a flag matching any is in scope. Undefined: every flag. */
  scope?: readonly string[];
}

export interface ApprovalRule {
  selector: string;
  count: number;
}

export interface Policy {
  keys: ReadonlyMap<string, KeyPolicy>;
  approvals: readonly ApprovalRule[];
  /** Keys whose signatures count for nothing, even while still listed in EDGEFLAGS_PUBLIC_KEYS. */
  revoked: ReadonlySet<string>;
}

/** The file people write (and deploy as EDGEFLAGS_POLICY). */
export interface PolicyFile {
  keys: Record<string, { roles: Role[]; scope?: string[] }>;
  approvals?: Record<string, number>;
  revoked?: string[];
}

/** Most approvals a rule may ask for: more distinct keys than anyone runs is a lock-out, not a rule. */
export const MAX_APPROVALS = 10;

const SELECTOR = /^(tag|owner|kind|flag):(.+)$/;

/** What is wrong with a selector, or undefined. */
export function selectorProblem(selector: unknown): string | undefined {
  if (typeof selector !== "string" || !SELECTOR.test(selector)) {
    return `${JSON.stringify(selector)} is not a selector (tag:NAME, owner:NAME, kind:NAME or flag:GLOB)`;
  }
  return undefined;
}

/**
 * Parses and checks a policy (JSON text or object). Every problem is listed in one error, each with
 * where it is; `knownKids`, when given, are the keys of EDGEFLAGS_PUBLIC_KEYS: a policy naming a key
 * that is not there is a typo that would silently lock someone out, so it is refused.
 */
export function parsePolicy(input: string | unknown, knownKids?: Iterable<string>): Policy {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch {
      throw new PolicyError(["the policy is not JSON"]);
    }
  }
  const problems: string[] = [];
  const keys = new Map<string, KeyPolicy>();
  const approvals: ApprovalRule[] = [];
  const revoked = new Set<string>();
  if (!isObject(raw))
    throw new PolicyError(['the policy must be an object: {"keys": {...}, "approvals": {...}}']);
  for (const field of Object.keys(raw)) {
    if (field !== "keys" && field !== "approvals" && field !== "revoked" && field !== "$schema") {
      problems.push(`${field}: unknown field (expected keys, approvals, revoked)`);
    }
  }
  const known = knownKids ? new Set(knownKids) : undefined;
  if (!isObject(raw.keys) || Object.keys(raw.keys).length === 0) {
    problems.push("keys: must list at least one key id with its roles");
  } else {
    for (const [kid, entry] of Object.entries(raw.keys)) {
      const at = `keys.${kid}`;
      if (!isObject(entry)) {
        problems.push(`${at}: must be {"roles": [...], "scope"?: [...]}`);
        continue;
      }
      for (const field of Object.keys(entry)) {
        if (field !== "roles" && field !== "scope")
          problems.push(`${at}.${field}: unknown field (expected roles, scope)`);
      }
      const roles = entry.roles;
      if (!Array.isArray(roles) || roles.length === 0) {
        problems.push(`${at}.roles: must list at least one of ${ROLES.join(", ")}`);
        continue;
      }
      const bad = roles.filter((r) => !(ROLES as readonly unknown[]).includes(r));
      if (bad.length > 0)
        problems.push(
          `${at}.roles: unknown role ${bad.map((r) => JSON.stringify(r)).join(", ")} (roles: ${ROLES.join(", ")})`,
        );
      let scope: string[] | undefined;
      if (entry.scope !== undefined) {
        if (!Array.isArray(entry.scope) || entry.scope.length === 0) {
          problems.push(`${at}.scope: must be a non-empty list of selectors (omit it for every flag)`);
        } else {
          for (const s of entry.scope) {
            const p = selectorProblem(s);
            if (p) problems.push(`${at}.scope: ${p}`);
          }
          scope = entry.scope as string[];
        }
      }
      if (known && !known.has(kid)) problems.push(`${at}: no key with this kid in EDGEFLAGS_PUBLIC_KEYS`);
      keys.set(kid, { roles: [...new Set(roles as Role[])], ...(scope ? { scope } : {}) });
    }
  }
  if (raw.approvals !== undefined) {
    if (!isObject(raw.approvals))
      problems.push('approvals: must map selectors to counts, e.g. {"tag:payments": 2}');
    else {
      for (const [selector, count] of Object.entries(raw.approvals)) {
        const p = selectorProblem(selector);
        if (p) problems.push(`approvals: ${p}`);
        if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_APPROVALS) {
          problems.push(`approvals.${selector}: must be a whole number from 1 to ${MAX_APPROVALS}`);
        } else approvals.push({ selector, count: count as number });
      }
    }
  }
  if (raw.revoked !== undefined) {
    if (!Array.isArray(raw.revoked) || !raw.revoked.every((k) => typeof k === "string")) {
      problems.push("revoked: must be a list of key ids");
    } else for (const kid of raw.revoked) revoked.add(kid);
  }
  const approvers = [...keys.entries()].filter(
    ([kid, k]) => k.roles.includes("approver") && !revoked.has(kid),
  );
  for (const rule of approvals) {
    if (approvers.length < rule.count) {
      problems.push(
        `approvals.${rule.selector}: needs ${rule.count} approvers but the policy has ${approvers.length} unrevoked key(s) with the approver role`,
      );
    }
  }
  if (problems.length > 0) throw new PolicyError(problems);
  return { keys, approvals, revoked };
}

export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(readonly problems: string[]) {
    super(`policy: ${problems.join("; ")}`);
  }
}

/** What a flag is, as selectors see it: `tag:x` for each tag, `owner:y`, `kind:z`. */
export function classOf(flag: { owner?: unknown; kind?: unknown; tags?: unknown }): string[] {
  const atoms: string[] = [];
  if (typeof flag.owner === "string") atoms.push(`owner:${flag.owner}`);
  if (typeof flag.kind === "string") atoms.push(`kind:${flag.kind}`);
  if (Array.isArray(flag.tags)) for (const t of flag.tags) if (typeof t === "string") atoms.push(`tag:${t}`);
  return atoms;
}

/** Whether `selector` picks the flag `key` whose class is `atoms`. */
export function selects(selector: string, key: string, atoms: readonly string[]): boolean {
  if (selector.startsWith("flag:")) return globMatch(selector.slice(5), key);
  return atoms.includes(selector);
}

/**
 * Whether a key's scope covers a flag. With a recorded class (`sticky`: what the flag was when the
 * last trusted snapshot was accepted), the scope must cover both: rewriting a flag's owner or tags
 * does not move it into a key's scope.
 */
export function inScope(
  key: KeyPolicy,
  flagKey: string,
  atoms: readonly string[],
  sticky?: readonly string[],
): boolean {
  const scope = key.scope;
  if (!scope) return true;
  const covers = (a: readonly string[]) => scope.some((s) => selects(s, flagKey, a));
  return covers(atoms) && (sticky === undefined || covers(sticky));
}

/**
 * Approvals a flag needs: the largest count of any rule selecting it by what it is now or what it was
 * (`sticky`), so removing a tag does not remove its rule. 0: none.
 */
export function requiredApprovals(
  policy: Policy,
  flagKey: string,
  atoms: readonly string[],
  sticky?: readonly string[],
): number {
  let n = 0;
  for (const rule of policy.approvals) {
    if (
      rule.count > n &&
      (selects(rule.selector, flagKey, atoms) ||
        (sticky !== undefined && selects(rule.selector, flagKey, sticky)))
    ) {
      n = rule.count;
    }
  }
  return n;
}

/** The usable policy entry of a key: undefined when it is unknown or revoked. */
export function keyPolicy(policy: Policy, kid: string): KeyPolicy | undefined {
  return policy.revoked.has(kid) ? undefined : policy.keys.get(kid);
}

/** `*` matches any run of characters (including none); everything else matches itself. Linear. */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] !== "*" && glob[g] === text[t]) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === "*") {
      star = g++;
      mark = t;
    } else if (star !== -1) {
      g = star + 1;
      t = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === "*") g++;
  return g === glob.length;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
