/**
 * The structural check every `matches` pattern passes before it is compiled: a subset of JavaScript
 * regular expressions that a backtracking engine (V8's, in workerd) matches in about linear time per
 * start position, so no pattern in a snapshot can stall an isolate, whoever signed it (with the
 * 1,024-character input cap, the unanchored search over every start stays near a million steps).
 * It refuses nested or overlapping repetition, backreferences and unbounded lookarounds from the
 * pattern's structure and the characters each part can match; deliberately coarse, so it also refuses
 * a few safe patterns. The publisher runs it first, then a full ReDoS analysis (src/flags/redos.ts),
 * so a file that validates always compiles. docs/flags-file.md ("Regular expressions") describes the
 * subset. Pure, no I/O, no dependencies.
 */

/** Why a pattern is refused: the construct at fault (a slice of the pattern) and a sentence naming it. */
export interface RegexHazard {
  /** The part of the pattern at fault, as written. */
  construct: string;
  /** Offset of `construct` in the pattern. */
  index: number;
  /** Plain-language reason, naming the construct. */
  reason: string;
}

/**
 * Quantifiers that can repeat this many times more than their minimum count as unbounded: on inputs of
 * at most 1,024 characters a wide bounded range costs what `*` does.
 */
const UNBOUNDED_SPAN = 32;
/**
 * The most ways that optional or alternative parts able to match the same text may combine; each one
 * that has another to compete with multiplies the paths a failing match tries.
 */
const MAX_COMBINED_CHOICES = 16;

// ---------------------------------------------------------------------------------------------------
// Sets of UTF-16 code units (patterns are compiled without flags: no `u`, no `i`), as sorted, disjoint
// inclusive ranges [lo0, hi0, lo1, hi1, ...].

type CharSet = readonly number[];

const MAX_UNIT = 0xffff;
const NONE: CharSet = [];
const ALL: CharSet = [0, MAX_UNIT];
const DIGIT: CharSet = [0x30, 0x39];
const WORD: CharSet = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: CharSet = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f,
  0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
const DOT: CharSet = negate([0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029]);

function unit(c: number): CharSet {
  return [c, c];
}

function union(a: CharSet, b: CharSet): CharSet {
  if (a.length === 0 || a === b) return b;
  if (b.length === 0) return a;
  // Merge the two sorted range lists, joining ranges that overlap or touch.
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let lo: number;
    let hi: number;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      lo = a[i]!;
      hi = a[i + 1]!;
      i += 2;
    } else {
      lo = b[j]!;
      hi = b[j + 1]!;
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function negate(a: CharSet): CharSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < a.length; i += 2) {
    if (a[i]! > next) out.push(next, a[i]! - 1);
    next = a[i + 1]! + 1;
  }
  if (next <= MAX_UNIT) out.push(next, MAX_UNIT);
  return out;
}

function intersect(a: CharSet, b: CharSet): CharSet {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]!, b[j]!);
    const hi = Math.min(a[i + 1]!, b[j + 1]!);
    if (lo <= hi) out.push(lo, hi);
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return out;
}

function overlaps(a: CharSet, b: CharSet): boolean {
  return intersect(a, b).length > 0;
}

// ---------------------------------------------------------------------------------------------------
// The pattern as a tree. Every node keeps its place in the pattern, so a refusal can quote it.

interface Span {
  start: number;
  end: number;
  /** Filled in by the analysis. */
  facts?: Facts;
  place?: Place;
  choice?: Choice;
}
/** One character: a literal, an escape, `.` or a class. */
interface CharNode extends Span {
  kind: "char";
  set: CharSet;
}
/** `^`, `$`, `\b`, `\B`: zero-width, consume nothing. */
interface AssertNode extends Span {
  kind: "assert";
}
/** `(...)`, `(?:...)`, `(?<name>...)`, and the whole pattern. */
interface GroupNode extends Span {
  kind: "group";
  branches: Node[][];
}
/** `(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`. */
interface LookNode extends Span {
  kind: "look";
  branches: Node[][];
}
/** An atom with a quantifier; `max` is Infinity for `*`, `+` and `{n,}`. */
interface RepeatNode extends Span {
  kind: "repeat";
  body: Node;
  min: number;
  max: number;
}
type Node = CharNode | AssertNode | GroupNode | LookNode | RepeatNode;

/** A refusal found while reading the pattern (syntax outside the subset). */
class Refusal {
  constructor(readonly hazard: RegexHazard) {}
}

const QUANTIFIER = /^\{(\d+)(,(\d*))?\}/;
const HEX2 = /^[0-9A-Fa-f]{2}/;
const HEX4 = /^[0-9A-Fa-f]{4}/;
const LETTER = /[A-Za-z]/;
const DIGITS = /[0-9]/;
const CONTROL: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, f: 0x0c };
const CLASSES: Record<string, CharSet> = {
  d: DIGIT,
  D: negate(DIGIT),
  w: WORD,
  W: negate(WORD),
  s: SPACE,
  S: negate(SPACE),
};

/**
 * Reads a pattern (Annex B syntax, no flags) that `new RegExp` has already accepted, as the whole
 * pattern's group. Throws Refusal for constructs outside the subset, and for anything it cannot read.
 */
function read(src: string): GroupNode {
  let pos = 0;
  const at = (i = pos) => src[i] ?? "";
  /** Refuses `start`..`end`: `what` names the kind of construct, `why` (if given) says why. */
  const refuse = (start: number, end: number, what: string, why?: string): never => {
    const construct = src.slice(start, end);
    const reason = `${what} ${JSON.stringify(construct)}${why === undefined ? "" : ` (${why})`}`;
    throw new Refusal({ construct, index: start, reason });
  };

  const alternatives = (): Node[][] => {
    const branches = [sequence()];
    while (at() === "|") {
      pos++;
      branches.push(sequence());
    }
    return branches;
  };

  const sequence = (): Node[] => {
    const items: Node[] = [];
    while (pos < src.length && at() !== "|" && at() !== ")") items.push(term());
    return items;
  };

  const term = (): Node => {
    const start = pos;
    const body = atom();
    const c = at();
    let min = 0;
    let max = Infinity;
    if (c === "+") min = 1;
    else if (c === "?") max = 1;
    else if (c === "{" && QUANTIFIER.test(src.slice(pos))) {
      const m = QUANTIFIER.exec(src.slice(pos))!;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      pos += m[0].length - 1;
    } else if (c !== "*") return body;
    pos++;
    if (at() === "?") pos++; // lazy: the same paths, tried in another order
    // (A minimum above the maximum never gets here: `new RegExp` refuses it.)
    if (body.kind === "assert" || body.kind === "look" || min > max) {
      refuse(start, pos, "quantified lookaround or assertion");
    }
    return { kind: "repeat", body, min, max, start, end: pos };
  };

  const atom = (): Node => {
    const start = pos;
    const c = at();
    const char = (set: CharSet): CharNode => ({ kind: "char", set, start, end: pos });
    pos++;
    if (c === "^" || c === "$") return { kind: "assert", start, end: pos };
    if (c === ".") return char(DOT);
    if (c === "(") return group(start);
    if (c === "[") return char(charClass(start));
    if (c === "\\") return backslash(start);
    if ("*+?".includes(c) || (c === "{" && QUANTIFIER.test(src.slice(start)))) {
      refuse(start, pos, "quantifier with nothing to repeat");
    }
    return char(unit(c.charCodeAt(0)));
  };

  const group = (start: number): Node => {
    const head = src.slice(start, start + 4);
    let look = false;
    if (head.startsWith("(?=") || head.startsWith("(?!")) look = true;
    else if (head.startsWith("(?<=") || head.startsWith("(?<!")) {
      look = true;
      pos++;
    } else if (head.startsWith("(?<")) {
      const close = src.indexOf(">", start);
      if (close < 0) refuse(start, start + 3, "unterminated group name");
      pos = close - 1;
    } else if (head.startsWith("(?") && !head.startsWith("(?:")) {
      refuse(
        start,
        start + 3,
        "unsupported group syntax",
        "groups are (...), (?:...), (?<name>...) and lookarounds",
      );
    } else if (!head.startsWith("(?")) pos -= 2;
    pos += 2;
    const branches = alternatives();
    if (at() !== ")") refuse(start, pos, "unclosed group");
    pos++;
    return { kind: look ? "look" : "group", branches, start, end: pos };
  };

  /** `\...` outside a class; `pos` is past the backslash. */
  const backslash = (start: number): Node => {
    const c = at();
    if (c === "") refuse(start, pos, "backslash at the end");
    pos++;
    if (c === "b" || c === "B") return { kind: "assert", start, end: pos };
    if (c >= "1" && c <= "9") {
      while (DIGITS.test(at())) pos++;
      refuse(
        start,
        pos,
        "backreference",
        "backreferences can take exponential time; for a character code write \\x01",
      );
    }
    if (c === "k" && at() === "<") {
      const close = src.indexOf(">", pos);
      refuse(start, close < 0 ? pos : close + 1, "backreference", "backreferences can take exponential time");
    }
    if (c === "c" && !LETTER.test(at())) {
      // Annex B: a lone "\c" is a backslash, and the "c" is read next as itself.
      pos--;
      return { kind: "char", set: unit(0x5c), start, end: pos };
    }
    const set = escapeValue(c, false);
    return { kind: "char", set, start, end: pos };
  };

  /**
   * The characters of an escape whose letter `c` was just read (in a class or not). A value it cannot
   * pin down exactly (legacy octal) counts as every character: that only ever makes the check stricter.
   */
  const escapeValue = (c: string, inClass: boolean): CharSet => {
    if (Object.hasOwn(CLASSES, c)) return CLASSES[c]!;
    if (Object.hasOwn(CONTROL, c)) return unit(CONTROL[c]!);
    if (c === "b") return unit(0x08); // only reached inside a class, where \b is a backspace
    const hex = c === "x" ? HEX2 : c === "u" ? HEX4 : undefined;
    if (hex !== undefined) {
      const m = hex.exec(src.slice(pos));
      if (m === null) return unit(c.charCodeAt(0));
      pos += m[0].length;
      return unit(Number.parseInt(m[0], 16));
    }
    if (c === "c") {
      const letter = at();
      if (!LETTER.test(letter)) return ALL; // Annex B oddities inside a class (`[\c_]`)
      pos++;
      return unit(letter.charCodeAt(0) % 32);
    }
    if (c === "0" && !DIGITS.test(at())) return unit(0);
    if (c === "0" || (inClass && c >= "1" && c <= "9")) {
      while (/[0-7]/.test(at())) pos++;
      return ALL; // legacy octal
    }
    return unit(c.charCodeAt(0));
  };

  /** `[...]` and `[^...]`; `pos` is past the "[". */
  const charClass = (start: number): CharSet => {
    const negated = at() === "^";
    if (negated) pos++;
    let set: CharSet = NONE;
    while (at() !== "]") {
      if (pos >= src.length) refuse(start, pos, "unclosed character class");
      const lo = classAtom();
      if (at() === "-" && pos + 1 < src.length && at(pos + 1) !== "]") {
        pos++;
        const hi = classAtom();
        if (lo.length === 2 && lo[0] === lo[1] && hi.length === 2 && hi[0] === hi[1]) {
          if (lo[0]! > hi[0]!) refuse(start, pos, "character range out of order");
          set = union(set, [lo[0]!, hi[0]!]);
        } else set = union(union(set, union(lo, hi)), unit(0x2d)); // Annex B: [\d-z]
      } else set = union(set, lo);
    }
    pos++;
    return negated ? negate(set) : set;
  };

  const classAtom = (): CharSet => {
    const c = at();
    pos++;
    if (c !== "\\") return unit(c.charCodeAt(0));
    const e = at();
    if (e === "") refuse(pos - 1, pos, "backslash at the end");
    if (e === "c" && !/[A-Za-z0-9_]/.test(at(pos + 1))) return unit(0x5c); // Annex B: "\\", then "c"
    pos++;
    return e === "-" ? unit(0x2d) : escapeValue(e, true);
  };

  const branches = alternatives();
  if (pos < src.length) refuse(pos, pos + 1, "unbalanced parenthesis");
  return { kind: "group", branches, start: 0, end: src.length };
}

// ---------------------------------------------------------------------------------------------------
// What each node can match, and where it sits.

interface Facts {
  /** Can match the empty string. */
  nullable: boolean;
  /** Every character it can consume. */
  chars: CharSet;
  /** The characters its match can begin with. */
  first: CharSet;
}

/** Where a node sits: the sequence holding it, its index there, and what owns that sequence. */
interface Place {
  seq: readonly Node[];
  index: number;
  owner: Node | null;
}

/** A point where matching chooses, and so may have to come back and choose again. */
interface Choice {
  node: RepeatNode | GroupNode;
  /** How many ways it can go: Infinity for an unbounded repeat. */
  ways: number;
  /** Character sets the text it decides about must each touch (see `competitors`). */
  required: CharSet[];
}

/** The first hazard of the pattern `src` read as `root`, or undefined when it is in the subset. */
function analyse(src: string, root: GroupNode): RegexHazard | undefined {
  const choices: Choice[] = [];

  function learn(node: Node, place: Place): Facts {
    node.place = place;
    let f: Facts;
    switch (node.kind) {
      case "char":
        f = { nullable: false, chars: node.set, first: node.set };
        break;
      case "assert":
        f = { nullable: true, chars: NONE, first: NONE };
        break;
      case "look":
        for (const branch of node.branches) sequence(branch, node);
        f = { nullable: true, chars: NONE, first: NONE };
        break;
      case "group": {
        const branches = node.branches.map((b) => sequence(b, node));
        f = {
          nullable: branches.some((b) => b.nullable),
          chars: branches.reduce((s, b) => union(s, b.chars), NONE),
          first: branches.reduce((s, b) => union(s, b.first), NONE),
        };
        if (branches.length > 1 && !deterministic(branches)) {
          node.choice = { node, ways: branches.length, required: [f.chars] };
          choices.push(node.choice);
        }
        break;
      }
      case "repeat": {
        const body = learn(node.body, { seq: [node.body], index: 0, owner: node });
        f =
          node.max === 0
            ? { nullable: true, chars: NONE, first: NONE }
            : { nullable: node.min === 0 || body.nullable, chars: body.chars, first: body.first };
        if (node.min !== node.max && node.max > 0) {
          const span = node.max - node.min;
          node.choice = {
            node,
            ways: span >= UNBOUNDED_SPAN ? Infinity : span + 1,
            required: required(node.body, body),
          };
          choices.push(node.choice);
        }
        break;
      }
    }
    node.facts = f;
    return f;
  }

  function sequence(items: readonly Node[], owner: Node): Facts {
    let nullable = true;
    let chars: CharSet = NONE;
    let first: CharSet = NONE;
    items.forEach((item, index) => {
      const f = learn(item, { seq: items, index, owner });
      if (nullable) first = union(first, f.first);
      nullable &&= f.nullable;
      chars = union(chars, f.chars);
    });
    return { nullable, chars, first };
  }

  /** The sets every non-empty repetition of `body` takes a character from, one per mandatory part. */
  function required(body: Node, own: Facts): CharSet[] {
    if (body.kind === "group" && body.branches.length === 1) {
      const sets = body.branches[0]!.filter((n) => !n.facts!.nullable).map((n) => charsOf(n));
      return sets.length > 0 ? sets : [own.chars];
    }
    return [own.chars];
  }

  function charsOf(node: Node): CharSet {
    return node.facts!.chars;
  }

  function quote(node: Span): string {
    return JSON.stringify(src.slice(node.start, node.end));
  }

  /** The first hazard, or undefined when the pattern is in the subset. */
  function hazard(): RegexHazard | undefined {
    const looks = lookaroundHazard(root);
    if (looks) return looks;
    const pairs: { a: Choice; b: Choice; within: RepeatNode | undefined }[] = [];
    for (const choice of choices) {
      for (const found of competitors(choice)) pairs.push({ a: choice, ...found });
    }
    // Worst first: exponential (ambiguity inside a repeat), then polynomial, then a product of choices.
    const nested = pairs.find((p) => p.within !== undefined);
    if (nested) {
      const loop = nested.within!;
      const part = nested.a.node;
      return {
        construct: src.slice(loop.start, loop.end),
        index: loop.start,
        reason:
          `nested repetition ${quote(loop)}: ${quote(part)} inside it can split the same text ` +
          "between repetitions in more than one way (exponential time)",
      };
    }
    const poly = pairs.find((p) => p.a.ways === Infinity && p.b.ways === Infinity);
    if (poly) {
      const { a, b } = poly;
      return {
        construct: src.slice(a.node.start, a.node.end),
        index: a.node.start,
        reason:
          `${quote(a.node)} and ${quote(b.node)} are unbounded repeats that can match the same ` +
          "text one after the other (polynomial time)",
      };
    }
    const involved = new Set<Choice>();
    for (const { a, b } of pairs) {
      if (a.ways !== Infinity) involved.add(a);
      if (b.ways !== Infinity) involved.add(b);
    }
    let combined = 1;
    for (const c of involved) combined *= c.ways;
    if (combined > MAX_COMBINED_CHOICES) {
      const parts = [...involved].sort((x, y) => x.node.start - y.node.start);
      const first = parts[0]!.node;
      const named = parts.slice(0, 3).map((c) => quote(c.node));
      const more = parts.length > 3 ? ` and ${parts.length - 3} more` : "";
      return {
        construct: src.slice(first.start, first.end),
        index: first.start,
        reason:
          `the optional or alternative parts ${named.join(", ")}${more} can match the same text and combine ` +
          `in ${combined} ways (at most ${MAX_COMBINED_CHOICES}; exponential time)`,
      };
    }
    return undefined;
  }

  /** A lookaround may only hold bounded patterns: it runs again at every position tried. */
  function lookaroundHazard(node: Node, inLook?: LookNode): RegexHazard | undefined {
    if (node.kind === "repeat") {
      if (inLook && node.max - node.min >= UNBOUNDED_SPAN) {
        return {
          construct: src.slice(inLook.start, inLook.end),
          index: inLook.start,
          reason: `lookaround ${quote(inLook)} holds the unbounded repeat ${quote(node)} (lookarounds may only hold bounded patterns)`,
        };
      }
      return lookaroundHazard(node.body, inLook);
    }
    if (node.kind === "group" || node.kind === "look") {
      const look = node.kind === "look" ? (inLook ?? node) : inLook;
      for (const branch of node.branches) {
        for (const item of branch) {
          const h = lookaroundHazard(item, look);
          if (h) return h;
        }
      }
    }
    return undefined;
  }

  /**
   * The choices that can compete with `p` for the same text: those a match can reach after `p`
   * (through later repetitions of the repeats around `p`, too) with nothing in between that takes a
   * character `p` could not. `within` is the innermost repeat around both when the path went through
   * another repetition of it: an ambiguity that compounds with every repetition.
   */
  function competitors(p: Choice): { b: Choice; within: RepeatNode | undefined }[] {
    const found: { b: Choice; within: RepeatNode | undefined }[] = [];
    const pChars = charsOf(p.node);

    const check = (q: Choice, middle: readonly Node[], wrapped: readonly RepeatNode[]) => {
      const shared = intersect(pChars, charsOf(q.node));
      if (shared.length === 0) return;
      // The text both could take must be able to pass everything between them...
      for (const m of middle) if (!overlaps(charsOf(m), shared)) return;
      // ...and be text that each of them can actually repeat or skip.
      for (const r of [...p.required, ...q.required]) if (!overlaps(r, shared)) return;
      const around = wrapped.filter((loop) => q.node.start >= loop.start && q.node.end <= loop.end);
      const within = around.length > 0 ? around[around.length - 1] : undefined;
      found.push({ b: q, within });
    };

    /** Goes through `node`; false when it takes a character `p` cannot, which ends the path. */
    const pass = (node: Node, middle: Node[], wrapped: readonly RepeatNode[]): boolean => {
      if (node.kind === "assert" || node.kind === "look") return true;
      if (node.kind === "group" && node.branches.length === 1) {
        // A plain group is its items, one after the other.
        for (const item of node.branches[0]!) if (!pass(item, middle, wrapped)) return false;
        return true;
      }
      const q = node.choice;
      if (q) check(q, middle, wrapped);
      // Choices inside `node` can be reached too.
      if (node.kind === "group") {
        for (const branch of node.branches) inside(branch, middle, wrapped);
      } else if (node.kind === "repeat") inside([node.body], middle, wrapped);
      const f = node.facts!;
      if (f.nullable) return true;
      if (!overlaps(f.chars, pChars)) return false;
      middle.push(node);
      return true;
    };

    const inside = (items: readonly Node[], middle: readonly Node[], wrapped: readonly RepeatNode[]) => {
      const m = middle.slice();
      for (const item of items) if (!pass(item, m, wrapped)) return;
    };

    /** Everything after `node`: the rest of its sequence, then out through what owns it. */
    const after = (node: Node, middle: Node[], wrapped: readonly RepeatNode[]): void => {
      const { seq, index, owner } = node.place!;
      for (let i = index + 1; i < seq.length; i++) if (!pass(seq[i]!, middle, wrapped)) return;
      if (owner === null || owner.kind === "look") return;
      if (owner.kind === "repeat" && owner.max > 1 && !wrapped.includes(owner)) {
        // Another repetition: through the body again from its start, then on out.
        const again = middle.slice();
        if (pass(owner.body, again, [...wrapped, owner])) after(owner, again, [...wrapped, owner]);
      }
      after(owner, middle, wrapped);
    };

    after(p.node, [], []);
    return found;
  }
  learn(root, { seq: [root], index: 0, owner: null });
  return hazard();
}

/** Whether alternatives never both apply: none matches empty and no two begin with the same character. */
function deterministic(branches: readonly Facts[]): boolean {
  for (let i = 0; i < branches.length; i++) {
    if (branches[i]!.nullable) return false;
    for (let j = i + 1; j < branches.length; j++) {
      if (overlaps(branches[i]!.first, branches[j]!.first)) return false;
    }
  }
  return true;
}

/**
 * Why `pattern` is outside the subset matched in about linear time per start position, or undefined
 * when it is inside. Call it on a pattern `new RegExp(pattern)` accepts; anything it cannot read is
 * refused too.
 */
export function regexHazard(pattern: string): RegexHazard | undefined {
  let root: GroupNode;
  try {
    root = read(pattern);
  } catch (error) {
    if (error instanceof Refusal) return error.hazard;
    throw error;
  }
  return analyse(pattern, root);
}
