/**
 * Reads text settings (wrangler vars and secrets) with documented defaults. A value that is set but
 * cannot be used falls back to the default and leaves a warning, which the runtime logs once per
 * isolate and /healthz shows, so a typo never changes behaviour silently. No I/O.
 */
export class SettingsReader {
  readonly warnings: string[] = [];

  constructor(private readonly values: Record<string, unknown>) {}

  /** The trimmed text of a setting, or undefined when it is unset or blank. */
  text(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
  }

  /** true/1/yes or false/0/no, any case. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.text(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (v === "true" || v === "1" || v === "yes") return true;
    if (v === "false" || v === "0" || v === "no") return false;
    return this.fallback(name, `"true" or "false"`, fallback);
  }

  /** A whole number >= min. */
  int(name: string, fallback: number, min: number): number {
    const v = this.text(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (Number.isInteger(n) && n >= min) return n;
    return this.fallback(name, `a whole number >= ${min}`, fallback);
  }

  /** A number with min < n <= max (a share such as 0.05). */
  share(name: string, fallback: number): number {
    const v = this.text(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (n > 0 && n <= 1) return n;
    return this.fallback(name, "a number above 0 and at most 1", fallback);
  }

  /** One of `options` (matched without regard to case, answered as written in `options`). */
  oneOf<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const v = this.text(name)?.toLowerCase();
    if (v === undefined) return fallback;
    const match = options.find((o) => o.toLowerCase() === v);
    return match ?? this.fallback(name, options.map((o) => `"${o}"`).join(" or "), fallback);
  }

  /** Records that `name` is not `expected` and answers `fallback`. */
  fallback<T>(name: string, expected: string, fallback: T): T {
    this.warnings.push(
      `${name}=${JSON.stringify(this.text(name))} is not ${expected}; using the default ${JSON.stringify(fallback)}`,
    );
    return fallback;
  }
}
