/**
 * A trace as readable lines: each step with a mark (✓ holds / ✗ does not) and the values read,
 * conditions and split details one level deeper, a prerequisite's own steps two levels deeper. One
 * wording for every reader: `edgeflags explain` paints these lines on a terminal, the console renders
 * them as a list. Pure.
 */
import type { FlagTrace, ServeTrace, SplitTrace, StepTrace } from "./trace";

export interface TraceLine {
  /** Nesting: 1 for a step, 2 for its conditions, more inside prerequisites. */
  depth: number;
  /** ✓ (true) or ✗ (false); absent for lines that state what was served. */
  mark?: boolean;
  /** An error line (the result's error message). */
  error?: true;
  text: string;
}

/** `on, DEFAULT (fallthrough)` or `ERROR TARGETING_KEY_MISSING (fallthrough)`. */
export function describeResult(t: FlagTrace): string {
  const r = t.result;
  const what = r.errorCode !== undefined ? `ERROR ${r.errorCode}` : `${r.variant}, ${r.reason}`;
  return r.ruleId === undefined ? what : `${what} (${r.ruleId})`;
}

/** The step that decided, in a few words. */
export function decidedBy(t: FlagTrace): string {
  const last = t.steps.at(-1);
  if (last === undefined) return "";
  switch (last.step) {
    case "flag":
      return "not found";
    case "enabled":
      return "kill switch";
    case "schedule":
      return "schedule";
    case "prerequisite":
      return `prerequisite ${last.flag}`;
    case "geo":
      return `geo ${geoText(last.geo as Record<string, unknown> | null)}`;
    case "targets":
      return "individual target";
    case "rule":
      return `rule ${last.id}`;
    case "fallthrough":
      return last.serve.split ? "fallthrough split" : "fallthrough";
  }
}

/** A value as read: JSON, or `missing`. */
export const show = (v: unknown) => (v === undefined ? "missing" : JSON.stringify(v));

export function geoText(geo: Record<string, unknown> | null): string {
  if (geo === null) return "unknown";
  const parts = [geo.country, geo.continent, geo.regionCode].filter((p) => p !== undefined);
  return parts.length === 0 ? "unknown" : parts.join("/");
}

/** One flag's steps as lines (not its headline: key, value and result). */
export function traceLines(t: FlagTrace, base = 0): TraceLine[] {
  const out: TraceLine[] = [];
  const line = (text: string, depth = 1, mark?: boolean) =>
    out.push(mark === undefined ? { depth: base + depth, text } : { depth: base + depth, mark, text });
  for (const s of t.steps) step(s);
  if (t.result.errorMessage) out.push({ depth: base + 1, error: true, text: t.result.errorMessage });
  return out;

  function step(s: StepTrace): void {
    switch (s.step) {
      case "flag":
        line(`no flag named ${JSON.stringify(t.key)} in this version`, 1, false);
        return;
      case "enabled":
        line(s.enabled ? "enabled" : "disabled (kill switch) -> off variant", 1, s.enabled);
        return;
      case "schedule": {
        const bounds = `from ${s.from ?? "-"} until ${s.until ?? "-"}`;
        const local = s.localTime ? `, ${s.localTime} ${s.timezone}` : "";
        line(
          `schedule ${s.active ? "active" : "inactive"} (${s.inBounds ? "within" : "outside"} ${bounds}${local})`,
          1,
          s.active,
        );
        for (const w of s.windows ?? []) line(`${w.days.join(",")} ${w.start}-${w.end}`, 2, w.open);
        return;
      }
      case "prerequisite":
        line(`prerequisite ${s.flag} = ${s.got ?? "(error)"}, needs ${s.variants.join(" or ")}`, 1, s.met);
        out.push(...traceLines(s.trace, base + 2));
        return;
      case "geo": {
        const verdict = s.blocked
          ? `blocked by ${s.blocked}`
          : s.hasAllow
            ? s.allowed
              ? `allowed by ${s.allowed}`
              : "outside the allow list"
            : "not blocked";
        line(
          `geo ${geoText(s.geo as Record<string, unknown> | null)}: ${verdict}${s.serve ? ` -> ${s.serve}` : ""}`,
          1,
          !s.decides,
        );
        return;
      }
      case "targets": {
        const hit = s.lists.find((l) => l.listed);
        const key =
          s.targetingKey === undefined ? "no targeting key" : `key ${JSON.stringify(s.targetingKey)}`;
        const lists = s.lists
          .map((l) => `${l.variant}: ${l.size} ${l.size === 1 ? "key" : "keys"}`)
          .join(", ");
        if (hit) line(`${key} is a target of ${hit.variant}`, 1, true);
        else line(`${key} in no target list (${lists})`, 1, false);
        return;
      }
      case "rule": {
        const what = s.matched ? "matched" : "no match";
        line(`rule ${s.id}: ${what}${s.conditions.length === 0 ? " (no conditions)" : ""}`, 1, s.matched);
        for (const c of s.conditions) {
          if (c.kind === "attribute") {
            const values = c.values === undefined ? "" : ` ${JSON.stringify(c.values)}`;
            line(`${c.attribute} ${c.op}${values} (${c.attribute} = ${show(c.read)})`, 2, c.holds);
          } else {
            const name = `${c.negate ? "not in" : "in"} segment ${c.segment}`;
            line(`${name} (member: ${c.member ? "yes" : "no"}, ${c.via})`, 2, c.holds);
          }
        }
        if (s.serve) serve(s.serve);
        return;
      }
      case "fallthrough":
        line("-> fallthrough");
        serve(s.serve);
        return;
    }
  }

  function serve(sv: ServeTrace): void {
    if (sv.variant !== undefined) line(`-> ${sv.variant}`, 2);
    if (sv.split) split(sv.split);
  }

  function split(sp: SplitTrace): void {
    const weights =
      sp.weights === "base"
        ? "base weights"
        : `progressive step ${sp.weights.step + 1} (from ${sp.weights.at})`;
    const ranges = sp.ranges.map((r) => `${r.variant} [${r.from}, ${r.to})`).join("  ");
    if (sp.bucket === undefined) {
      line(`split by ${sp.by}: no value to bucket (${weights}: ${ranges})`, 2, false);
      return;
    }
    line(
      `split by ${sp.by} ${JSON.stringify(sp.bucketKey)}, salt ${JSON.stringify(sp.salt)}: bucket ${sp.bucket} of ${sp.totalWeight} -> ${sp.variant}`,
      2,
    );
    line(`${weights}: ${ranges}`, 3);
  }
}
