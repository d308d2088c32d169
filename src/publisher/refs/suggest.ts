/** "Did you mean": the closest known flag key to an unknown one, by edit distance. Pure. */

/** Levenshtein distance, stopping early (returning `max + 1`) once it must exceed `max`. */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      row.push(d);
      if (d < best) best = d;
    }
    if (best > max) return max + 1;
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * The known key closest to `unknown` (case-insensitively), if it is close enough to be a typo: at
 * most 2 edits, or a third of the key's length for long keys. Ties go to the alphabetically first.
 */
export function suggestKey(unknown: string, keys: Iterable<string>): string | undefined {
  const max = Math.max(2, Math.floor(unknown.length / 3));
  const lower = unknown.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const key of keys) {
    const d = editDistance(lower, key.toLowerCase(), max);
    if (d > max) continue;
    if (d < bestDistance || (d === bestDistance && best !== undefined && key < best)) {
      best = key;
      bestDistance = d;
    }
  }
  return best;
}
