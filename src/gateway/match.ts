/**
 * Compiles a snapshot's gates once into matchers sorted most specific first (cached on the snapshot
 * object), and finds the gate for a request. Pure apart from the per-snapshot cache; no I/O.
 */
import { gateIdOf, gateMethodsOf } from "../flags/defaults";
import type { GateDefinition, GateDeny } from "../flags/types";
import { compareRanks, type GateRank, hostRank, patternShape } from "./specificity";

export interface CompiledGate {
  readonly id: string;
  readonly flag: string;
  readonly allow: ReadonlySet<string>;
  readonly deny: GateDeny;
  /** What `deny` does, worked out once: answer with a status, redirect, or rewrite to another path. */
  readonly action: "deny" | "redirect" | "rewrite";
  /** The status a denial answers with (null for a rewrite, which the origin answers). */
  readonly denyStatus: number | null;
  readonly onUnavailable: "deny" | "allow";
  readonly inject: boolean;
  /** null: every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly hasHost: boolean;
  /** `caseSensitive: false`: the pattern ignores case (and `quickPrefix` is lower case). */
  readonly ignoreCase: boolean;
  /** A cheap test before URLPattern: every matching path starts with it. */
  readonly quickPrefix: string;
  readonly pattern: URLPattern;
  readonly rank: GateRank;
}

export interface CompiledGates {
  /** Most specific first. */
  readonly gates: readonly CompiledGate[];
  /** Epoch ms after which the snapshot is no longer trustworthy (Infinity: never). */
  readonly expiresAt: number;
}

/** What the snapshot cache hands over: its payload's gates and expiry. */
export interface GateSource {
  payload: { expiresAt?: string; flags: { gates?: GateDefinition[] } };
}

const cache = new WeakMap<GateSource, CompiledGates>();

/** The compiled gates of a snapshot, compiled on first use and kept as long as the snapshot lives. */
export function gatesOf(snapshot: GateSource): CompiledGates {
  let compiled = cache.get(snapshot);
  if (!compiled) {
    const expiry = snapshot.payload.expiresAt;
    compiled = {
      ...compileGates(snapshot.payload.flags.gates ?? []),
      expiresAt: expiry === undefined ? Number.POSITIVE_INFINITY : Date.parse(expiry),
    };
    cache.set(snapshot, compiled);
  }
  return compiled;
}

// Characters URL parsing never percent-encodes in a path: a literal prefix made of them can be
// compared with the request path as is.
const PLAIN = /^[A-Za-z0-9/._~-]*/;

/** Compiles gate definitions (already validated) into matchers, most specific first. */
export function compileGates(defs: readonly GateDefinition[]): Omit<CompiledGates, "expiresAt"> {
  const gates = defs.map((def, index): CompiledGate => {
    const shape = patternShape(def.pattern);
    const methods = gateMethodsOf(def.methods);
    const ignoreCase = def.caseSensitive === false;
    const quickPrefix = PLAIN.exec(shape.prefix)?.[0] ?? "";
    return {
      id: gateIdOf(def.id, index),
      flag: def.flag,
      allow: new Set(def.allow),
      deny: def.deny,
      action: "redirect" in def.deny ? "redirect" : "rewrite" in def.deny ? "rewrite" : "deny",
      denyStatus:
        "redirect" in def.deny ? (def.deny.status ?? 302) : "rewrite" in def.deny ? null : def.deny.status,
      onUnavailable: def.onUnavailable ?? "deny",
      inject: def.inject === true,
      methods,
      hasHost: def.host !== undefined,
      ignoreCase,
      quickPrefix: ignoreCase ? quickPrefix.toLowerCase() : quickPrefix,
      pattern: new URLPattern(
        def.host === undefined ? { pathname: def.pattern } : { pathname: def.pattern, hostname: def.host },
        { ignoreCase },
      ),
      rank: { host: hostRank(def.host), shape, methods: methods !== null, index },
    };
  });
  gates.sort((a, b) => compareRanks(a.rank, b.rank));
  return { gates };
}

/** The most specific gate matching the request, if any. `path` should be `gatePath`'s output (path.ts). */
export function matchGate(
  gates: readonly CompiledGate[],
  method: string,
  hostname: string,
  path: string,
): CompiledGate | undefined {
  let lower: string | undefined;
  for (const gate of gates) {
    if (gate.methods !== null && !gate.methods.has(method)) continue;
    if (gate.ignoreCase) {
      lower ??= path.toLowerCase();
      if (!lower.startsWith(gate.quickPrefix)) continue;
    } else if (!path.startsWith(gate.quickPrefix)) continue;
    const input = gate.hasHost ? { pathname: path, hostname } : { pathname: path };
    if (gate.pattern.test(input)) return gate;
  }
  return undefined;
}
