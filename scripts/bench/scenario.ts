/**
 * The benchmark scenario shared by every section, kept exactly as specified so figures compare across
 * engines: 100 boolean flags; rules (1) country in 5 of 10 AND plan == enterprise -> on, (2) segment
 * `beta` (1,000 ids) -> on, (3) country in CN/RU/KP/IR -> off, (4) 25% on / 75% off by user id.
 * 10,000 contexts from a seeded PRNG. Pure data generation, no I/O.
 */
import type { EvaluationContext } from "../../src/eval/types";
import type { FlagDefinition, FlagsDocument } from "../../src/flags/types";

export const COUNTRIES = ["US", "CA", "GB", "DE", "FR", "JP", "AU", "NL", "SE", "BR"];
export const BLOCKED = ["CN", "RU", "KP", "IR"];
const OTHERS = [
  "IT",
  "ES",
  "PL",
  "IN",
  "MX",
  "KR",
  "ZA",
  "NG",
  "EG",
  "AR",
  "CH",
  "AT",
  "BE",
  "NO",
  "DK",
  "FI",
];
export const ALL_COUNTRIES = [...COUNTRIES, ...BLOCKED, ...OTHERS];
const PLANS = ["free", "pro", "enterprise"];
export const FLAGS = 100;
export const CONTEXTS = 10_000;
const BETA_SIZE = 1_000;

/** mulberry32: a small seeded PRNG, so every run sees the same contexts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `flag-000` ... (wider when there are more than 1,000 flags). */
export function flagKey(i: number, count: number): string {
  return `flag-${String(i).padStart(Math.max(3, String(count - 1).length), "0")}`;
}

/** The 5 consecutive countries (wrapping) that rule 1 of flag i targets. */
export function countriesFor(i: number): string[] {
  return Array.from({ length: 5 }, (_, j) => COUNTRIES[(i + j) % 10] as string);
}

/** The 1,000 user ids of segment `beta` (about 10% of the contexts). */
export function betaIds(): string[] {
  const rand = prng(7);
  const ids = new Set<string>();
  while (ids.size < BETA_SIZE) ids.add(`user-${Math.floor(rand() * CONTEXTS)}`);
  return [...ids];
}

/** The scenario's flags document with `count` flags (all client-visible). */
export function scenarioDoc(count: number, beta: string[]): FlagsDocument {
  const flags: Record<string, FlagDefinition> = {};
  for (let i = 0; i < count; i++) {
    flags[flagKey(i, count)] = {
      clientVisible: true,
      rules: [
        {
          when: [
            { attribute: "geo.country", op: "in", values: countriesFor(i % 10) },
            { attribute: "plan", op: "equals", values: ["enterprise"] },
          ],
          serve: "on",
        },
        { when: [{ segment: "beta" }], serve: "on" },
        { when: [{ attribute: "geo.country", op: "in", values: BLOCKED }], serve: "off" },
      ],
      fallthrough: { split: { on: 25, off: 75 } },
    };
  }
  return { flags, segments: { beta: { included: beta } } };
}

/** The 10,000 scenario contexts. */
export function scenarioContexts(): EvaluationContext[] {
  const rand = prng(42);
  return Array.from({ length: CONTEXTS }, (_, i) => ({
    targetingKey: `user-${i}`,
    geo: { country: ALL_COUNTRIES[Math.floor(rand() * ALL_COUNTRIES.length)] as string },
    attributes: { plan: PLANS[Math.floor(rand() * PLANS.length)] as string },
  }));
}

/**
 * A document whose size shows in any per-evaluation cost that grows with the snapshot: every flag has
 * its own conditions (so the distinct tests grow with the flags) and every odd flag has the flag before
 * it as a prerequisite (so flag results are memoised). Same contexts as the scenario.
 */
export function wideDoc(count: number, beta: string[]): FlagsDocument {
  const flags: Record<string, FlagDefinition> = {};
  for (let i = 0; i < count; i++) {
    const flag: FlagDefinition = {
      rules: [
        {
          when: [
            { attribute: "geo.country", op: "in", values: [...countriesFor(i % 10), `X${i}`] },
            { attribute: "plan", op: "in", values: ["enterprise", `tier-${i}`] },
          ],
          serve: "on",
        },
        { when: [{ segment: "beta" }], serve: "on" },
        { when: [{ attribute: "geo.country", op: "in", values: [...BLOCKED, `Y${i}`] }], serve: "off" },
      ],
      fallthrough: { split: { on: 25, off: 75 } },
    };
    if (i % 2 === 1) flag.prerequisites = [{ flag: flagKey(i - 1, count), variants: ["on", "off"] }];
    flags[flagKey(i, count)] = flag;
  }
  return { flags, segments: { beta: { included: beta } } };
}

/**
 * The engine bench's harder variants of scenarioDoc. Each adds targeting that no scenario context
 * matches, so every variant answers exactly what scenarioDoc does (the bench checks its checksum
 * against the reference's) while costing what that targeting costs to evaluate.
 */

/**
 * Every flag's rule 1 tests its own country list (its 5 countries plus a code no context has), so the
 * document has more than 64 distinct tests and no two flags share their rules.
 */
export function ownCountriesDoc(count: number, beta: string[]): FlagsDocument {
  const doc = scenarioDoc(count, beta);
  Object.values(doc.flags).forEach((flag, i) => {
    flag.rules![0]!.when[0] = {
      attribute: "geo.country",
      op: "in",
      values: [...countriesFor(i % 10), `X${i}`],
    };
  });
  return doc;
}

/** Every flag also serves `on` to its own allow list of `size` targeting keys (none a context's). */
export function ownTargetsDoc(count: number, beta: string[], size: number): FlagsDocument {
  const doc = scenarioDoc(count, beta);
  Object.values(doc.flags).forEach((flag, i) => {
    flag.targets = { on: Array.from({ length: size }, (_, j) => `vip-${i}-${j}`) };
  });
  return doc;
}

/** `size` staff ids, none a context's targeting key. */
export function staffIds(size: number): string[] {
  return Array.from({ length: size }, (_, j) => `staff-${j}`);
}

/**
 * Every flag also serves `on` to the same long list of keys, each flag holding its own copy, as a
 * parsed flags file does (say, staff ids pasted into every flag).
 */
export function sharedTargetsDoc(count: number, beta: string[], keys: readonly string[]): FlagsDocument {
  const doc = scenarioDoc(count, beta);
  for (const flag of Object.values(doc.flags)) flag.targets = { on: JSON.parse(JSON.stringify(keys)) };
  return doc;
}
