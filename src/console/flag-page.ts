/**
 * One flag's page: what it is and who owns it, its definition, evaluation counts per variant over
 * time, its history from the audit trail with each version's changes, the commands to act on it, and
 * the Explain form. The data is read by the routes and handed in. Pure.
 */
import { html } from "hono/html";
import type { FlagDefinition } from "../flags/types";
import type { FlagStats } from "../observe/types";
import { countsChart } from "./chart";
import type { FlagCommand } from "./commands";
import { definition } from "./definition";
import { explainSection } from "./explain-section";
import { type FlagVersion, historyList } from "./history";
import type { Html } from "./layout";
import { expiry, stateBadge } from "./parts";
import { expiryBadge, type FlagState, type GuardVerdict, guardOf, guardText, servingText } from "./summary";

/** Counts for the chart, or why there are none. */
export type CountsView =
  | { stats: FlagStats; from: string; to: string; since: string }
  | { unavailable: string; since: string };

export interface FlagPageInput {
  base: string;
  key: string;
  flag: FlagDefinition;
  state: FlagState;
  now: number;
  counts: CountsView;
  history: { versions: FlagVersion[]; read: number } | { unavailable: string };
  commands: FlagCommand[];
  /** The aggregator's verdict on its guard for the live version, when there is one. */
  verdict?: GuardVerdict;
}

/** The ranges the chart offers. */
export const CHART_RANGES = ["1h", "6h", "24h"] as const;

const safeUrl = (text: string | undefined) => (text && /^https?:\/\//i.test(text) ? text : undefined);

function link(label: string, url: string | undefined): Html | "" {
  const href = safeUrl(url);
  return href
    ? html`<div><dt>${label}</dt><dd><a href="${href}" rel="noreferrer">${href}</a></dd></div>`
    : "";
}

function countsSection(base: string, key: string, counts: CountsView): Html {
  const href = `${base}/flags/${encodeURIComponent(key)}`;
  const ranges = html`<p>Range: ${CHART_RANGES.map((r, i) =>
    r === counts.since
      ? html`${i ? " · " : ""}<strong aria-current="true">${r}</strong>`
      : html`${i ? " · " : ""}<a href="${href}?since=${r}">${r}</a>`,
  )}</p>`;
  let body: Html;
  if ("unavailable" in counts) body = html`<p class="notice">${counts.unavailable}</p>`;
  else if (counts.stats.total === 0)
    body = html`<p class="muted">No evaluations counted in the last ${counts.since}.${counts.stats.lastEvaluated ? html` Last evaluated ${counts.stats.lastEvaluated}.` : ""}</p>`;
  else body = countsChart(counts.stats, counts.from, counts.to);
  return html`<section aria-labelledby="counts-h"><h2 id="counts-h">Evaluations by variant</h2>${ranges}${body}</section>`;
}

export function flagPage(input: FlagPageInput): Html {
  const { base, key, flag, now } = input;
  const guard = guardOf(flag);
  return html`<p><a href="${base}/">← All flags</a></p>
<h1><code>${key}</code> ${stateBadge(input.state)} ${expiry(expiryBadge(flag.expires, now))}</h1>
${flag.description ? html`<p>${flag.description}</p>` : ""}
<section aria-labelledby="about-h"><h2 id="about-h">About</h2><dl class="facts">
<div><dt>Kind</dt><dd>${flag.kind ?? "-"}</dd></div>
<div><dt>Owner</dt><dd>${flag.owner ?? "-"}</dd></div>
<div><dt>Expires</dt><dd>${flag.expires ?? "-"}</dd></div>
<div><dt>Client visible</dt><dd>${flag.clientVisible ? "yes" : "no (server-only)"}</dd></div>
<div><dt>Serving now</dt><dd>${servingText(flag, input.state, now)}</dd></div>
<div><dt>Guard</dt><dd>${guardText(flag, input.verdict)}${guard === undefined ? "" : html`<pre>${JSON.stringify(guard, null, 2)}</pre>`}</dd></div>
${flag.tags?.length ? html`<div><dt>Tags</dt><dd>${flag.tags.join(", ")}</dd></div>` : ""}
${flag.ticket ? html`<div><dt>Ticket</dt><dd>${flag.ticket}</dd></div>` : ""}
${link("Dashboard", flag.dashboard)}${link("Runbook", flag.runbook)}
</dl>${flag.rolloutPlan ? html`<p><strong>Rollout plan:</strong> ${flag.rolloutPlan}</p>` : ""}</section>
<section aria-labelledby="def-h"><h2 id="def-h">Definition</h2>${definition(key, flag)}</section>
${countsSection(base, key, input.counts)}
<section aria-labelledby="hist-h"><h2 id="hist-h">History</h2>${
    "unavailable" in input.history
      ? html`<p class="notice">${input.history.unavailable}</p>`
      : historyList(input.history.versions, input.history.read)
  }</section>
<section aria-labelledby="cmd-h"><h2 id="cmd-h">Commands</h2>
<p class="muted">The console changes nothing itself: run these with the publisher CLI.</p>
${input.commands.map((c) => html`<div><div>${c.label}</div><pre><code>${c.command}</code></pre></div>`)}
</section>
${explainSection(`${base}/flags/${encodeURIComponent(key)}/explain`, key)}`;
}
