/** Small pieces the console's pages share: times, state and expiry badges. Pure. */
import { html } from "hono/html";
import type { Html } from "./layout";
import type { ExpiryBadge, FlagState } from "./summary";

/** An ISO instant as `2026-05-01 12:00 UTC`, in a <time> element. */
export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">-</span>`;
  const ms = Date.parse(iso);
  const text = Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return html`<time datetime="${iso}">${text}</time>`;
}

const STATE_CLASS: Record<FlagState, string> = {
  enabled: "on",
  killed: "off",
  "scheduled (active)": "sched",
  "scheduled (inactive)": "sched",
};

export function stateBadge(state: FlagState): Html {
  return html`<span class="badge ${STATE_CLASS[state]}">${state}</span>`;
}

export function expiry(badge: ExpiryBadge): Html | "" {
  return badge
    ? html`<span class="badge ${badge.kind === "expired" ? "bad" : "warn"}">${badge.text}</span>`
    : "";
}
