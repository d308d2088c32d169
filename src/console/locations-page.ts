/**
 * The locations page: the version each edge location serves, from the version beacon's table
 * (GET /v1/snapshot/locations), against the version announced last. Pure.
 */
import { html } from "hono/html";
import type { LocationsView } from "../signal/types";
import type { Html } from "./layout";
import { when } from "./parts";

export function locationsPage(view: LocationsView | { unavailable: string }, served?: number): Html {
  if ("unavailable" in view) {
    return html`<h1>Locations</h1><p class="notice">${view.unavailable}</p>`;
  }
  const rows = view.locations.map(
    (l) => html`<tr>
<td class="key" data-label="Location">${l.location}</td>
<td data-label="Version">${l.version}${view.version !== null && l.version < view.version ? html` <span class="badge warn">behind</span>` : ""}</td>
<td data-label="Serving since">${when(l.servedSince)}</td>
<td data-label="Reported">${when(l.reportedAt)}</td>
<td data-label="Lag">${l.lagMs === null ? "-" : `${(l.lagMs / 1000).toFixed(1)} s`}</td>
</tr>`,
  );
  return html`<h1>Locations</h1>
<section aria-labelledby="ann-h"><h2 id="ann-h">Announced</h2><dl class="facts">
<div><dt>Announced version</dt><dd>${view.version ?? "none yet"}</dd></div>
<div><dt>Announced</dt><dd>${when(view.announcedAt)}</dd></div>
<div><dt>This location serves</dt><dd>${served ?? "-"}</dd></div>
<div><dt>Active within</dt><dd>${view.activeWithinSeconds / 60} min</dd></div>
</dl></section>
${
  rows.length === 0
    ? html`<p class="muted">No location reported within the last ${view.activeWithinSeconds / 60} minutes.</p>`
    : html`<div class="scroll"><table class="reflow"><caption class="muted">${rows.length} active location${rows.length === 1 ? "" : "s"}</caption>
<thead><tr><th scope="col">Location</th><th scope="col">Version</th><th scope="col">Serving since</th><th scope="col">Reported</th><th scope="col">Lag</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}`;
}
