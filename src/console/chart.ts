/**
 * Counts per variant over time as an inline SVG line chart, from the aggregator's per-minute points
 * (GET /v1/stats's `variants[].points`). Colours are SVG presentation attributes, not CSS, so the
 * page's CSP needs no style exception. Minutes are grouped into at most MAX_BINS bins. Pure.
 */
import { html } from "hono/html";
import type { FlagStats } from "../observe/types";
import type { Html } from "./layout";

/** Line colours by variant position (the legend's `.c0`..`.c5` use the same). */
export const PALETTE = ["#0b57d0", "#c5221f", "#188038", "#b06000", "#8430ce", "#5b6472"];
const MAX_BINS = 120;
const MINUTE_MS = 60_000;
/** The SVG's own coordinates; CSS sizes it. */
const W = 600;
const H = 200;

export interface Series {
  variant: string;
  /** Count per bin, oldest first. */
  counts: number[];
  total: number;
}

export interface Binned {
  from: number;
  binMs: number;
  series: Series[];
}

/** The points of each variant in equal bins from `from` to `to` (ISO minutes, inclusive). */
export function binCounts(stats: FlagStats, from: string, to: string): Binned {
  const start = Date.parse(from);
  const minutes = Math.max(1, Math.round((Date.parse(to) - start) / MINUTE_MS) + 1);
  const perBin = Math.ceil(minutes / MAX_BINS);
  const bins = Math.ceil(minutes / perBin);
  const series = stats.variants.map((v) => {
    const counts = new Array<number>(bins).fill(0);
    for (const [at, n] of v.points) {
      const i = Math.floor((Date.parse(at) - start) / MINUTE_MS / perBin);
      if (i >= 0 && i < bins) counts[i] = (counts[i] as number) + n;
    }
    return { variant: v.variant ?? "(error)", counts, total: v.total };
  });
  return { from: start, binMs: perBin * MINUTE_MS, series };
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/**
 * The chart, its legend and totals. The SVG stretches to the width it gets (no fixed aspect: the
 * strokes keep their width), and its axis labels are HTML around it, so they stay readable on a phone.
 */
export function countsChart(stats: FlagStats, from: string, to: string): Html {
  const { from: start, binMs, series } = binCounts(stats, from, to);
  const bins = series[0]?.counts.length ?? 1;
  const max = Math.max(1, ...series.flatMap((s) => s.counts));
  const x = (i: number) => (bins <= 1 ? 0 : (i * W) / (bins - 1));
  const y = (n: number) => H - 2 - ((H - 4) * n) / max;
  const lines = series.map(
    (s, k) =>
      html`<polyline fill="none" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke" points="${s.counts
        .map((n, i) => `${x(i).toFixed(1)},${y(n).toFixed(1)}`)
        .join(" ")}"/>`,
  );
  const unit = binMs === MINUTE_MS ? "minute" : `${binMs / MINUTE_MS} minutes`;
  const total = series.reduce((sum, s) => sum + s.total, 0) || 1;
  const grid = (n: number, dash: string) =>
    html`<line x1="0" x2="${W}" y1="${y(n)}" y2="${y(n)}" stroke="#dde1e7" stroke-width="1" vector-effect="non-scaling-stroke"${dash ? html` stroke-dasharray="${dash}"` : ""}/>`;
  return html`<figure class="chart">
<div class="plot"><div class="yaxis" aria-hidden="true"><span>${max}</span><span>${Math.round(max / 2)}</span><span>0</span></div>
<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-labelledby="chart-t" xmlns="http://www.w3.org/2000/svg">
<title id="chart-t">Evaluations per ${unit} by variant, ${hhmm(start)} to ${hhmm(Date.parse(to))} UTC; up to ${max} per ${unit}</title>
${grid(max, "")}${grid(max / 2, "3 3")}${grid(0, "")}${lines}
</svg></div>
<div class="xaxis" aria-hidden="true"><span>${hhmm(start)}</span><span>per ${unit}</span><span>${hhmm(Date.parse(to))} UTC</span></div>
<figcaption><ul class="legend">${series.map(
    (s, k) =>
      html`<li><span class="sw c${k % PALETTE.length}" aria-hidden="true"></span>${s.variant}: ${s.total} (${Math.round((s.total / total) * 1000) / 10}%)</li>`,
  )}</ul></figcaption>
</figure>`;
}
