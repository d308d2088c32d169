/** Order statistics for the benchmarks. Pure. */

/** The p-th percentile (nearest rank, 0-100) of numbers in ascending order; NaN for none. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** The p-th percentile (nearest rank, 0-100) of numbers in any order. */
export function percentile(xs: readonly number[], p: number): number {
  return percentileOfSorted(
    [...xs].sort((a, b) => a - b),
    p,
  );
}

/** The median (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}
