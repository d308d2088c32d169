/**
 * The worker's guards as the publisher shows them (`status`, `history`): GET /v1/guards read with the
 * stats or publish token, and the lines a trip prints as. I/O: one request to the worker.
 */
import type { GuardsAnswer, TripRecord } from "../guard/types";
import type { LocationsView } from "../signal/types";
import type { Output } from "./output";
import { fetchFailureCause } from "./wait";
import { callWorker } from "./worker-call";

/** The guards, or why they could not be read (a note for `status`, never a failure). */
export type GuardsRead = (GuardsAnswer & { error?: undefined }) | { error: string };

export async function readGuards(url: string | undefined, token: string | undefined): Promise<GuardsRead> {
  if (!url) return { error: "no worker URL configured (--url / EDGEFLAGS_URL)" };
  if (!token) return { error: "no stats or publish token (EDGEFLAGS_STATS_TOKEN / EDGEFLAGS_PUBLISH_TOKEN)" };
  let res: Response;
  try {
    res = await fetch(`${url}/v1/guards`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    return { error: `cannot read the guards from ${url}: ${fetchFailureCause(err, 5000)}` };
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    return { error: `${res.status} ${body.error ?? ""}${body.message ? ` (${body.message})` : ""}` };
  }
  return (await res.json()) as GuardsAnswer;
}

/** Posts a signed reset; the worker's refusal becomes a CliError with its reason. */
export async function postReset(url: string, token: string, reset: string): Promise<{ gen: number }> {
  const body = await callWorker<{ gen?: number }>({
    url,
    route: "POST /v1/guards/reset",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ token: reset }),
    refused: "the publish token: check EDGEFLAGS_PUBLISH_TOKEN",
    doing: "the reset was refused",
    timeoutMs: 10_000,
  });
  return { gen: body.gen ?? 0 };
}

function show(metric: TripRecord["metric"], x: number | null): string {
  if (x === null) return "-";
  return metric === "origin-latency" ? `${x} ms` : `${Math.round(x * 10_000) / 100} %`;
}

/** One trip, for people. */
export function tripLine(t: TripRecord): string {
  const against =
    t.control === null
      ? `threshold ${show(t.metric, t.limit)}`
      : `control ${show(t.metric, t.control)} over ${t.controlSamples}, limit ${show(t.metric, t.limit)}`;
  return `${t.flag}: variant ${t.variant} ${t.metric} ${show(t.metric, t.value)} over ${t.samples} samples (${against}) at ${t.at}`;
}

/** The guards section of `status`: trips (and how many locations apply them), then each guard's state. */
export function printGuards(out: Output, g: GuardsRead, locations?: LocationsView): void {
  if (g.error !== undefined) {
    out.line(out.paint("dim", `guards: unknown (${g.error})`));
    return;
  }
  if (g.guards.length === 0 && g.trips.length === 0) {
    out.line(out.paint("dim", `guards: none armed (version ${g.version || "none"})`));
    return;
  }
  const applying = locations?.locations.filter((l) => (l.guards ?? -1) >= g.gen).length;
  const reach =
    locations && locations.locations.length > 0
      ? `, applied in ${applying} of ${locations.locations.length} active location(s)`
      : "";
  out.line(`guards (version ${g.version}, state ${g.gen}${reach}):`);
  for (const t of g.trips) {
    out.line(`  ${out.paint(["bold", "red"], "TRIPPED")} ${tripLine(t)}; serving its off variant`);
  }
  for (const r of g.guards) {
    if (g.trips.some((t) => t.flag === r.flag)) continue;
    const values = Object.entries(r.variants)
      .map(([v, m]) => `${v} ${show(r.metric as TripRecord["metric"], m.value)}/${m.samples}`)
      .join(", ");
    const bake = r.bake
      ? `; steps ${r.bake.released}/${r.bake.steps} released${r.bake.healthySince ? `, healthy since ${r.bake.healthySince}` : ""}`
      : "";
    out.line(
      `  ${r.state === "healthy" ? out.paint("green", "healthy") : r.state} ${r.flag} (${r.metric}: ${values || "no samples"})${bake}`,
    );
  }
  if (g.webhook.configured && (g.webhook.pending > 0 || g.webhook.lastError)) {
    out.line(
      out.paint(
        "yellow",
        `  webhook: ${g.webhook.pending} pending${g.webhook.lastError ? `, last error ${g.webhook.lastError}` : ""}`,
      ),
    );
  }
}
