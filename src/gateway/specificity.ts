/**
 * "Most specific pattern wins": the shape of a URLPattern pathname (literal prefix, parameters,
 * wildcards) and the order of gates built from it. Pure, no I/O.
 */

export interface PatternShape {
  /** Literal text before the first parameter, wildcard or group. */
  prefix: string;
  /** Named parameters, regex groups and optional groups. */
  params: number;
  /** `*` wildcards, and `*` / `+` repeat modifiers. */
  wildcards: number;
  /** Literal characters in the whole pattern. */
  literal: number;
}

const NAME = /[A-Za-z0-9_$]/;

/** Reads a pattern token by token; the syntax itself was checked at publish time by URLPattern. */
export function patternShape(pattern: string): PatternShape {
  let prefix = "";
  let inPrefix = true;
  let params = 0;
  let wildcards = 0;
  let literal = 0;
  const modifier = (i: number): number => {
    const m = pattern[i];
    if (m === "*" || m === "+") wildcards++;
    return m === "*" || m === "+" || m === "?" ? i + 1 : i;
  };
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "\\" && i + 1 < pattern.length) {
      literal++;
      if (inPrefix) prefix += pattern[i + 1];
      i += 2;
      continue;
    }
    if (ch === ":" || ch === "(" || ch === "*" || ch === "{" || ch === "}") inPrefix = false;
    if (ch === ":") {
      params++;
      i++;
      while (i < pattern.length && NAME.test(pattern[i]!)) i++;
      if (pattern[i] === "(") i = skipGroup(pattern, i);
      i = modifier(i);
    } else if (ch === "(") {
      params++;
      i = modifier(skipGroup(pattern, i));
    } else if (ch === "*") {
      wildcards++;
      i++;
    } else if (ch === "{") {
      i++;
    } else if (ch === "}") {
      if (pattern[i + 1] === "?") params++;
      i = modifier(i + 1);
    } else {
      literal++;
      if (inPrefix) prefix += ch;
      i++;
    }
  }
  return { prefix, params, wildcards, literal };
}

/** Index just after the regex group opening at `i` (nested parentheses and escapes respected). */
function skipGroup(pattern: string, i: number): number {
  let depth = 0;
  for (; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return i + 1;
  }
  return i;
}

export interface GateRank {
  /** 2: a literal host, 1: a host pattern, 0: any host. */
  host: number;
  shape: PatternShape;
  /** Limited to some methods. */
  methods: boolean;
  /** Position in the file. */
  index: number;
}

/**
 * Sort order, most specific first: a literal host beats a host pattern beats any host; then fewer
 * wildcards, a longer literal prefix, fewer parameters, more literal characters; then a gate limited
 * to some methods beats one for every method; then file order.
 */
export function compareRanks(a: GateRank, b: GateRank): number {
  return (
    b.host - a.host ||
    a.shape.wildcards - b.shape.wildcards ||
    b.shape.prefix.length - a.shape.prefix.length ||
    a.shape.params - b.shape.params ||
    b.shape.literal - a.shape.literal ||
    Number(b.methods) - Number(a.methods) ||
    a.index - b.index
  );
}

/** 2 for a literal host name, 1 for a hostname pattern, 0 for none. */
export function hostRank(host: string | undefined): number {
  if (host === undefined) return 0;
  return /[:*(){}\\?+]/.test(host) ? 1 : 2;
}
