/**
 * Shared tables of `matches` patterns: catastrophic ones, refused by compile and by validation with the
 * construct at fault, and everyday ones both accept. Data only.
 */

// [pattern, construct at fault, words the reason uses]
export const CATASTROPHIC: [string, string, string][] = [
  // The pattern, and the other classic exponential shapes.
  ["(a+)+$", "(a+)+", "nested repetition"],
  ["^(a|a)*$", "(a|a)*", "nested repetition"],
  ["^(\\d+)*$", "(\\d+)*", "nested repetition"],
  ["^(.*)*$", "(.*)*", "nested repetition"],
  ["(a*)*b", "(a*)*", "nested repetition"],
  ["x(\\w|\\d)+y", "(\\w|\\d)+", "nested repetition"],
  ["(\\w+\\d+)+x", "(\\w+\\d+)+", "nested repetition"],
  ["^([a-z0-9]+-?)+$", "([a-z0-9]+-?)+", "nested repetition"],
  ["^(a?b?)+$", "(a?b?)+", "nested repetition"],
  ["^(a|ab)*c$", "(a|ab)*", "nested repetition"],
  ["(?:a{1,3}){2,}", "(?:a{1,3}){2,}", "nested repetition"],
  // Polynomial: unbounded repeats competing for the same text, one after the other.
  ["^\\d+\\d+$", "\\d+", "unbounded repeats"],
  [".*a.*a.*a.*a$", ".*", "unbounded repeats"],
  ["^\\s*(.*?)\\s*$", "\\s*", "unbounded repeats"],
  ["^.*foo.*$", ".*", "unbounded repeats"],
  ["^[a-z]{2,}-?[a-z]*$", "[a-z]{2,}", "unbounded repeats"],
  ["^a*b?a*$", "a*", "unbounded repeats"],
  ["^[a-z]+(?:\\.[a-z]+)*[a-z]*$", "[a-z]+", "unbounded repeats"],
  ["^x{0,100}x{0,100}$", "x{0,100}", "unbounded repeats"],
  // Exponential in the length of the pattern: many optional parts that can take the same text.
  [`^${"a?".repeat(12)}${"a".repeat(12)}$`, "a?", "combine in 4096 ways"],
  ["^(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)b", "(?:a|a)", "combine in 32 ways"],
  // Constructs outside the subset.
  ["^(a)\\1$", "\\1", "backreference"],
  ["^(?<x>a)\\k<x>$", "\\k<x>", "backreference"],
  ["^(?=.*a)(?=.*b)", "(?=.*a)", "lookaround"],
  ["(?<=a+)b", "(?<=a+)", "lookaround"],
  ["(?=a)*b", "(?=a)*", "quantified lookaround"],
];

export const SAFE: string[] = [
  "^user-\\d+$",
  "^[a-z]+@example\\.com$",
  "@example\\.com$",
  "^.*@example\\.com$",
  "^[\\w.+-]+@example\\.com$",
  "^[^@]+@[^@]+$",
  "^(en|de|fr)(-[A-Z]{2})?$",
  "iPhone|iPad",
  "^Mozilla/5\\.0 .*Chrome/1[2-9]\\d",
  "^(\\d{1,3}\\.){3}\\d{1,3}$",
  "^10\\.",
  "^\\d+(\\.\\d+)?$",
  "^v?\\d+\\.\\d+\\.\\d+$",
  "^(\\+|00)?\\d+$",
  "^[a-z]+(\\.[a-z]+)*$",
  "^([a-z0-9]+\\.)+[a-z]{2,}$",
  "https?://(www\\.)?example\\.com",
  "(?:^|,)beta(?:,|$)",
  "^(?!admin)",
  "(?<=@)example\\.com$",
  "^(?:(?!x).)*$",
  "^(?:a|b)+$",
  "^(ab?)*$",
  "[\\u00e0-\\u00ff]+",
  "^\\p{L}$", // no `u` flag: \p is a plain "p"
  "a{2,}",
  "",
];
