/**
 * Proof of live everywhere (`--confirm all`, `edgeflags status`): reads the worker's table of the
 * version each location reports serving (GET /v1/snapshot/locations, behind the publish token) and
 * waits until every location active in the window serves a version, printing each as it confirms.
 * I/O: fetch.
 */
import type { LocationEntry, LocationsView } from "../signal/types";
import { CliError, EXIT, formatMs, type Output } from "./output";
import { fetchFailureCause } from "./wait";

/** `--confirm all` as parsed: how far back a location counts as active, and how long to wait. */
export interface ConfirmSettings {
  activeWithinSeconds: number;
  timeoutMs: number;
}

export interface ConfirmFlags {
  confirm?: string;
  activeWithin?: string;
  confirmTimeout?: string;
}

/** Defaults: locations seen in the last 10 minutes, confirmed within 60 s. */
export const DEFAULT_ACTIVE_WITHIN_SECONDS = 600;
export const DEFAULT_CONFIRM_TIMEOUT_SECONDS = 60;

/** "90s", "10m", "1h" -> seconds (1 s to 1 h, what the worker accepts). */
export function parseActiveWithin(text: string | undefined): number {
  if (text === undefined) return DEFAULT_ACTIVE_WITHIN_SECONDS;
  const m = /^(\d{1,5})\s*([smh]?)$/.exec(text.trim());
  const s = m ? Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1) : Number.NaN;
  if (!(s >= 1) || s > 3600) {
    throw new CliError(
      EXIT.usage,
      `--active-within takes a duration from 1s to 1h, such as 10m, got "${text}"`,
    );
  }
  return s;
}

/** The confirm flags of publish, kill, unkill and rollback; undefined without `--confirm`. */
export function confirmSettings(flags: ConfirmFlags): ConfirmSettings | undefined {
  if (flags.confirm === undefined) {
    if (flags.activeWithin !== undefined || flags.confirmTimeout !== undefined) {
      throw new CliError(EXIT.usage, "--active-within and --confirm-timeout go with --confirm all");
    }
    return undefined;
  }
  if (flags.confirm !== "all") {
    throw new CliError(EXIT.usage, `--confirm takes "all", got "${flags.confirm}"`);
  }
  const raw = flags.confirmTimeout ?? String(DEFAULT_CONFIRM_TIMEOUT_SECONDS);
  const timeout = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(timeout) || timeout <= 0) {
    throw new CliError(EXIT.usage, `--confirm-timeout takes seconds, got "${raw}"`);
  }
  return { activeWithinSeconds: parseActiveWithin(flags.activeWithin), timeoutMs: timeout * 1000 };
}

/** Reads the location table. Throws CliError: exit 3 when the worker cannot be read. */
export async function readLocations(
  url: string,
  token: string | undefined,
  activeWithinSeconds: number,
): Promise<LocationsView> {
  if (!token) {
    throw new CliError(EXIT.usage, "reading the locations needs the publish token (EDGEFLAGS_PUBLISH_TOKEN)");
  }
  let res: Response;
  try {
    res = await fetch(`${url}/v1/snapshot/locations?activeWithin=${activeWithinSeconds}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new CliError(EXIT.io, `cannot read the locations from ${url}: ${fetchFailureCause(err, 5000)}`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new CliError(
      res.status === 401 || res.status === 403 ? EXIT.problems : EXIT.io,
      `${url} refused to list locations: ${res.status} ${body.error ?? ""}${body.message ? ` (${body.message})` : ""}`,
    );
  }
  return (await res.json()) as LocationsView;
}

/** One location's outcome of `--confirm all`. */
export interface LocationResult {
  location: string;
  /** The version it served when last heard. */
  version: number;
  confirmed: boolean;
  /** From the announcement until it served the version (the beacon's figure), when known. */
  lagMs: number | null;
  reportedAt: string;
}

export interface Confirmation {
  ok: boolean;
  version: number;
  activeWithinSeconds: number;
  /** Every location active in the window, confirmed ones first. */
  locations: LocationResult[];
  stragglers: string[];
  /** How long the confirmation took, ms. */
  ms: number;
}

const resultOf = (e: LocationEntry, version: number): LocationResult => ({
  location: e.location,
  version: e.version,
  confirmed: e.version >= version,
  lagMs: e.version === version ? e.lagMs : null,
  reportedAt: e.reportedAt,
});

/**
 * Polls the location table until every location active in the window serves `version` or newer,
 * printing each as it confirms, or `settings.timeoutMs` passes. A location counts once it appears in
 * the window; one that confirmed stays confirmed.
 */
export async function confirmEverywhere(
  url: string,
  token: string | undefined,
  version: number,
  settings: ConfirmSettings,
  out: Output,
  intervalMs = 250,
): Promise<Confirmation> {
  const started = performance.now();
  const seen = new Map<string, LocationResult>();
  const progress = out.progress(
    `confirming version ${version} in every location active in the last ${settings.activeWithinSeconds} s`,
  );
  try {
    while (true) {
      const view = await readLocations(url, token, settings.activeWithinSeconds);
      for (const e of view.locations) {
        const before = seen.get(e.location);
        if (before?.confirmed) continue;
        const now = resultOf(e, version);
        seen.set(e.location, now);
        if (now.confirmed) {
          const took = now.lagMs === null ? "" : ` ${formatMs(now.lagMs)} after the announcement`;
          out.line(`  ${out.paint("green", "✓")} ${e.location} serves version ${e.version}${took}`);
        }
      }
      const waiting = [...seen.values()].filter((r) => !r.confirmed);
      const done = waiting.length === 0;
      const elapsed = performance.now() - started;
      if (done || elapsed >= settings.timeoutMs) {
        const locations = [...seen.values()].sort(
          (a, b) => Number(b.confirmed) - Number(a.confirmed) || a.location.localeCompare(b.location),
        );
        return {
          ok: done,
          version,
          activeWithinSeconds: settings.activeWithinSeconds,
          locations,
          stragglers: waiting.map((r) => r.location).sort(),
          ms: Math.round(elapsed),
        };
      }
      progress.update(
        `${seen.size - waiting.length}/${seen.size} locations; waiting for ${waiting.map((r) => r.location).join(", ")}`,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, settings.timeoutMs - elapsed)));
    }
  } finally {
    progress.done();
  }
}

/** The closing lines: how many confirmed, and each straggler with what it last served and when. */
export function reportConfirmation(out: Output, c: Confirmation): void {
  const confirmed = c.locations.length - c.stragglers.length;
  if (c.locations.length === 0) {
    out.note(`no location reported in the last ${c.activeWithinSeconds} s: nothing to confirm`);
    return;
  }
  if (c.ok) {
    out.line(
      `  confirmed in all ${confirmed} active location${confirmed === 1 ? "" : "s"} (${formatMs(c.ms)})`,
    );
    return;
  }
  out.line(
    `  ${out.paint(["bold", "red"], "not confirmed")} in ${c.stragglers.length} of ${c.locations.length} active locations after ${formatMs(c.ms)}:`,
  );
  for (const r of c.locations.filter((l) => !l.confirmed)) {
    out.line(`    ${r.location}: still on version ${r.version}, last heard ${r.reportedAt}`);
  }
}
