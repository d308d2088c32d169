/**
 * A flag's definition for people: variants, schedule, prerequisites, geo, targets, rules and the
 * fallthrough, one line each, then the raw JSON as signed. Pure.
 */
import { html } from "hono/html";
import type { Condition, FlagDefinition, ProgressiveSplit, Serve } from "../flags/types";
import type { Html } from "./layout";
import { splitPairs } from "./summary";

const json = (v: unknown) => JSON.stringify(v);

function condition(c: Condition): string {
  if ("segment" in c) return `${c.negate ? "not in" : "in"} segment ${c.segment}`;
  return c.values === undefined ? `${c.attribute} ${c.op}` : `${c.attribute} ${c.op} ${json(c.values)}`;
}

function serve(s: Serve | ProgressiveSplit): string {
  if (typeof s === "string") return s;
  const text = `split ${splitPairs(s.split)
    .map(([v, w]) => `${v}: ${w}`)
    .join(", ")}${s.by ? ` by ${s.by}` : ""}`;
  const steps = (s as ProgressiveSplit).steps ?? [];
  return steps.length === 0
    ? text
    : `${text}; then ${steps
        .map(
          (st) =>
            `from ${st.at}: ${splitPairs(st.split)
              .map(([v, w]) => `${v}: ${w}`)
              .join(", ")}`,
        )
        .join("; ")}`;
}

function row(label: string, value: Html | string): Html {
  return html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
}

/** The readable definition table and the raw JSON. */
export function definition(key: string, flag: FlagDefinition): Html {
  const rows: Html[] = [];
  const variants = flag.variants ?? { on: true, off: false };
  rows.push(
    row(
      "Variants",
      html`${Object.entries(variants).map(
        ([name, value]) =>
          html`<div><code>${name}</code> = <code>${json(value)}</code>${name === (flag.offVariant ?? "off") ? html` <span class="muted">(off variant)</span>` : ""}</div>`,
      )}`,
    ),
  );
  if (flag.enabled === false)
    rows.push(row("Kill switch", "enabled: false - every visitor gets the off variant"));
  const s = flag.schedule;
  if (s) {
    const windows = (s.windows ?? []).map((w) => `${w.days.join(",")} ${w.start}-${w.end}`).join("; ");
    rows.push(
      row(
        "Schedule",
        [
          s.from ? `from ${s.from}` : "",
          s.until ? `until ${s.until}` : "",
          windows ? `${windows} (${s.timezone ?? "UTC"})` : "",
        ]
          .filter(Boolean)
          .join(", "),
      ),
    );
  }
  for (const p of flag.prerequisites ?? []) {
    rows.push(row("Prerequisite", html`<code>${p.flag}</code> is ${p.variants.join(" or ")}`));
  }
  if (flag.geo) {
    const lists = (l: NonNullable<typeof flag.geo.allow>) =>
      [
        ...(l.countries ?? []),
        ...(l.continents ?? []).map((c) => `continent ${c}`),
        ...(l.regions ?? []),
      ].join(", ");
    if (flag.geo.allow) rows.push(row("Geo allow", lists(flag.geo.allow)));
    if (flag.geo.block) rows.push(row("Geo block", lists(flag.geo.block)));
    rows.push(row("Geo refused get", flag.geo.serve ?? flag.offVariant ?? "off"));
  }
  for (const [variant, keys] of Object.entries(flag.targets ?? {})) {
    const shown = keys.slice(0, 10).join(", ");
    rows.push(
      row(`Targets → ${variant}`, keys.length > 10 ? `${shown} and ${keys.length - 10} more` : shown),
    );
  }
  for (const [i, rule] of (flag.rules ?? []).entries()) {
    const when = rule.when.length === 0 ? "always" : rule.when.map(condition).join(" AND ");
    rows.push(
      row(
        `Rule ${rule.id ?? `rule-${i}`}`,
        html`if ${when} → <strong>${serve(rule.serve)}</strong>${rule.description ? html`<div class="muted">${rule.description}</div>` : ""}`,
      ),
    );
  }
  rows.push(row("Otherwise", html`<strong>${serve(flag.fallthrough)}</strong>`));
  return html`<div class="scroll"><table class="def"><tbody>${rows}</tbody></table></div>
<details><summary>Raw JSON of <code>${key}</code></summary><pre>${JSON.stringify(flag, null, 2)}</pre></details>`;
}
