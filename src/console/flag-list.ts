/**
 * The flag list: the live snapshot's version, when and by whom it was published, and one row per
 * flag (state, kind, owner, expiry, client visibility, rollout share, guard). The table reflows into
 * labelled blocks on a phone. Pure.
 */
import { html } from "hono/html";
import type { VerifiedSnapshot } from "../snapshot/verify";
import type { Html } from "./layout";
import { expiry, stateBadge, when } from "./parts";
import { expiryBadge, flagState, type GuardVerdict, guardText, servingText } from "./summary";

/** The guard column: a tripped guard stands out. */
const guardCell = (text: string): Html | string =>
  text === "tripped" ? html`<span class="badge bad">tripped</span>` : text;

/** The version, publish time and publisher of the live snapshot. */
export function snapshotFacts(snapshot: VerifiedSnapshot): Html {
  const p = snapshot.payload;
  return html`<dl class="facts">
<div><dt>Snapshot version</dt><dd>${p.version}</dd></div>
<div><dt>Published</dt><dd>${when(p.issuedAt)}</dd></div>
<div><dt>Publisher</dt><dd>${p.audit?.actor ?? "unknown"}</dd></div>
<div><dt>Signing key</dt><dd><code>${snapshot.kid}</code></dd></div>
${p.audit?.message ? html`<div><dt>Message</dt><dd>${p.audit.message}</dd></div>` : ""}
${p.expiresAt ? html`<div><dt>Snapshot expires</dt><dd>${when(p.expiresAt)}</dd></div>` : ""}
</dl>`;
}

export function flagList(
  base: string,
  snapshot: VerifiedSnapshot,
  now: number,
  verdicts: ReadonlyMap<string, GuardVerdict> = new Map(),
): Html {
  const flags = snapshot.payload.flags.flags;
  const keys = Object.keys(flags).sort();
  const rows = keys.map((key) => {
    const flag = flags[key]!;
    const state = flagState(snapshot, key, now);
    return html`<tr>
<td class="key" data-label="Flag"><a href="${base}/flags/${encodeURIComponent(key)}">${key}</a></td>
<td data-label="State">${stateBadge(state)}</td>
<td data-label="Kind">${flag.kind ?? html`<span class="muted">-</span>`}</td>
<td data-label="Owner">${flag.owner ?? html`<span class="muted">-</span>`}</td>
<td data-label="Expiry">${expiry(expiryBadge(flag.expires, now)) || (flag.expires ?? html`<span class="muted">-</span>`)}</td>
<td data-label="Client">${flag.clientVisible ? "yes" : "no"}</td>
<td data-label="Rollout">${servingText(flag, state, now)}</td>
<td data-label="Guard">${guardCell(guardText(flag, verdicts.get(key)))}</td>
</tr>`;
  });
  return html`<h1>Flags</h1>
<section aria-labelledby="snap-h"><h2 id="snap-h">Live snapshot</h2>${snapshotFacts(snapshot)}</section>
<div class="scroll"><table class="reflow">
<caption class="muted">${keys.length} flag${keys.length === 1 ? "" : "s"} in environment ${snapshot.payload.environment}</caption>
<thead><tr><th scope="col">Flag</th><th scope="col">State</th><th scope="col">Kind</th><th scope="col">Owner</th><th scope="col">Expiry</th><th scope="col">Client</th><th scope="col">Rollout</th><th scope="col">Guard</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}
