/**
 * Semantic checks of the `gates` list: patterns compile (and can match a path the worker accepts),
 * flags and variants exist, ids are unique, actions are usable, and no gate is unreachable or unable
 * to deny. Pure, no I/O.
 */
import { arr, at, type Loc, type Obj, obj, type Report, str } from "./access";
import { variantNames } from "./check-flag";
import { gateIdOf, gateMethodsOf } from "./defaults";
import { describe, didYouMean, listOf } from "./messages";

/** Largest gate body (text or serialised JSON), in UTF-8 bytes. */
export const MAX_GATE_BODY_BYTES = 4096;
const encoder = new TextEncoder();

type PatternCtor = new (input: { pathname: string; hostname?: string }) => unknown;

/**
 * URLPattern is global in workerd, browsers and Node 23.8+. Node 20 has none: the publisher loads
 * `urlpattern-polyfill` (see parse.ts) before validating, so this check never silently passes.
 */
function patternCtor(): PatternCtor | undefined {
  return (globalThis as { URLPattern?: PatternCtor }).URLPattern;
}

/** Runs every gate check on a (possibly malformed) document. */
export function checkGates(root: Obj, report: Report): void {
  const gates = arr(root.gates);
  if (gates.length === 0) return;
  const flags = obj(root.flags) ?? {};
  const ids = new Map<string, number>();
  // Per match key, the first gate of each case mode: a case-insensitive gate matches everything its
  // case-sensitive twin does, so it hides later twins of both modes.
  const seen = new Map<string, { sensitive?: number; insensitive?: number }>();
  const gatesLoc = at(undefined, "gates");
  gates.forEach((raw, i) => {
    const gate = obj(raw);
    if (!gate) return;
    const loc = at(gatesLoc, i);
    const id = gateIdOf(gate.id, i);
    const first = ids.get(id);
    if (first !== undefined) {
      report(
        gate.id === undefined ? loc : at(loc, "id"),
        `gate id "${id}" is already used by gates[${first}]`,
      );
    } else ids.set(id, i);
    const compiled = checkPattern(gate, loc, report);
    const names = checkFlagRef(gate, flags, loc, report);
    checkDeny(obj(gate.deny), at(loc, "deny"), report);
    if (compiled) {
      const key = sameMatchKey(gate);
      const twins = seen.get(key) ?? {};
      const insensitive = gate.caseSensitive === false;
      const earlier = insensitive ? twins.insensitive : (twins.insensitive ?? twins.sensitive);
      if (earlier !== undefined) {
        report(
          at(loc, "pattern"),
          `gate "${id}" is unreachable: gates[${earlier}] has the same pattern, host and methods and comes first`,
        );
      } else {
        if (insensitive) twins.insensitive = i;
        else twins.sensitive = i;
        seen.set(key, twins);
      }
    }
    const allow = arr(gate.allow).filter((a): a is string => typeof a === "string");
    if (names && allow.length > 0 && names.every((n) => allow.includes(n))) {
      report(
        at(loc, "allow"),
        `gate "${id}" can never deny: allow lists every variant of flag "${str(gate.flag)}"`,
      );
    }
  });
}

/** Compiles pattern and host the way the worker will; reports the first problem. */
function checkPattern(gate: Obj, loc: Loc, report: Report): boolean {
  const pattern = str(gate.pattern);
  const host = str(gate.host);
  if (pattern === undefined || pattern === "") return false;
  if (!pattern.startsWith("/") && pattern !== "*") {
    report(at(loc, "pattern"), `pattern ${describe(pattern)} must start with "/" (URL paths always do)`);
    return false;
  }
  if (/%(2f|5c)/i.test(pattern)) {
    report(
      at(loc, "pattern"),
      `pattern ${describe(pattern)} can never match: the worker refuses paths with an encoded "/" or "\\" (400)`,
    );
    return false;
  }
  const URLPatternCtor = patternCtor();
  if (!URLPatternCtor) {
    report(at(loc, "pattern"), "cannot check gate patterns: this runtime has no URLPattern");
    return false;
  }
  try {
    new URLPatternCtor({ pathname: pattern });
  } catch (err) {
    report(at(loc, "pattern"), `invalid pattern ${describe(pattern)}: ${reason(err)}`);
    return false;
  }
  if (host !== undefined && host !== "") {
    try {
      new URLPatternCtor({ pathname: pattern, hostname: host });
    } catch (err) {
      report(at(loc, "host"), `invalid host pattern ${describe(host)}: ${reason(err)}`);
      return false;
    }
  }
  return true;
}

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Failed to construct 'URLPattern': /, "").slice(0, 200);
}

function checkFlagRef(gate: Obj, flags: Obj, loc: Loc, report: Report): readonly string[] | undefined {
  const key = str(gate.flag);
  if (key === undefined) return undefined;
  if (!Object.hasOwn(flags, key)) {
    report(at(loc, "flag"), `unknown flag ${describe(key)}${didYouMean(key, Object.keys(flags))}`);
    return undefined;
  }
  const flag = obj(flags[key]);
  const names = flag && variantNames(flag);
  if (!names) return undefined;
  arr(gate.allow).forEach((variant, j) => {
    if (typeof variant === "string" && !names.includes(variant)) {
      report(
        at(at(loc, "allow"), j),
        `flag "${key}" has no variant ${describe(variant)}${didYouMean(variant, names)}; its variants are: ${listOf(names)}`,
      );
    }
  });
  return names;
}

function checkDeny(deny: Obj | undefined, loc: Loc, report: Report): void {
  if (!deny) return;
  if (deny.body !== undefined && deny.json !== undefined) {
    report(at(loc, "json"), "give either body or json, not both");
  }
  for (const field of ["body", "json"] as const) {
    const value = deny[field];
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text !== undefined && encoder.encode(text).length > MAX_GATE_BODY_BYTES) {
      report(
        at(loc, field),
        `${field} must be at most ${MAX_GATE_BODY_BYTES} bytes: it is answered at the edge, not a page`,
      );
    }
  }
  const redirect = str(deny.redirect);
  if (redirect !== undefined && redirect !== "" && !isRedirectTarget(redirect)) {
    report(
      at(loc, "redirect"),
      `redirect ${describe(redirect)} must be an absolute http(s) URL or a path starting with "/"`,
    );
  }
  const rewrite = str(deny.rewrite);
  if (rewrite !== undefined && rewrite !== "" && !isLocalPath(rewrite)) {
    report(
      at(loc, "rewrite"),
      `rewrite ${describe(rewrite)} must be a path on the origin, starting with "/"`,
    );
  }
}

/** "/x" but not "//host/x", which browsers read as another site. */
function isLocalPath(s: string): boolean {
  return s.startsWith("/") && !s.startsWith("//") && !s.startsWith("/\\") && !/[\s]/.test(s);
}

function isRedirectTarget(s: string): boolean {
  if (isLocalPath(s)) return true;
  try {
    const url = new URL(s);
    return (url.protocol === "https:" || url.protocol === "http:") && /^https?:\/\//i.test(s);
  } catch {
    return false;
  }
}

/** Gates with equal keys match exactly the same requests; the later one can never win. */
function sameMatchKey(gate: Obj): string {
  const methods = gateMethodsOf(arr(gate.methods));
  const list = methods ? [...methods].sort() : null;
  return JSON.stringify([str(gate.pattern), str(gate.host) ?? null, list]);
}
