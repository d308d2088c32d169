/**
 * The stale report as Markdown for an issue or a job summary: a table of counts per category, then
 * each owner's flags with their findings, age, and the code references to delete. Pure, no I/O.
 */
import type { Category, FlagEntry, StaleReport } from "./build";

/** References listed per flag; the rest are counted ("and N more"). */
export const MAX_REFERENCES = 10;

/** Headings of the categories, as the summary table and each flag's findings name them. */
export function categoryTitle(category: Category, days: number): string {
  switch (category) {
    case "expired":
      return "Expired";
    case "past-lifetime":
      return "Past the expected lifetime for its kind";
    case "ready-to-remove":
      return `Fully rolled out or fully off for ${days}+ days (ready to remove)`;
    case "not-evaluated":
      return `Not evaluated for ${days} days`;
    case "unreferenced":
      return "No code references";
  }
}

const NO_OWNER = "(no owner)";
/** Backticks for code spans of text from the flags file or paths (a backtick inside would end one). */
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
/** Text safe in a heading or table cell. */
const plain = (text: string) => text.replace(/[|\r\n]/g, " ");

function ageLine(flag: FlagEntry): string {
  if (flag.created === null || flag.ageDays === null) return "Age: unknown (no `created` date)";
  return `Age: ${flag.ageDays} days (created ${flag.created})`;
}

function referenceLines(flag: FlagEntry): string[] {
  // Only a flag that should go gets the list of places to delete.
  const goes = flag.findings.some((f) => f.category === "ready-to-remove" || f.category === "expired");
  if (!goes) return [];
  if (flag.references === null) return ["- Code references: unknown (not in the references file)"];
  if (flag.references.length === 0) return ["- Code references: none (remove it from the flags file)"];
  const shown = flag.references.slice(0, MAX_REFERENCES).map((r) => `  - ${code(`${r.file}:${r.line}`)}`);
  const more = flag.references.length - MAX_REFERENCES;
  return [
    `- Code references to delete (${flag.references.length}):`,
    ...shown,
    ...(more > 0 ? [`  - and ${more} more`] : []),
  ];
}

function flagLines(flag: FlagEntry, days: number): string[] {
  const kind = flag.kind ? ` (${flag.kind})` : "";
  return [
    `### ${code(flag.key)}${kind}`,
    "",
    ...flag.findings.map((f) => `- **${categoryTitle(f.category, days)}**: ${f.reason}`),
    `- ${ageLine(flag)}`,
    ...referenceLines(flag),
    "",
  ];
}

/** The whole report, ending with a newline. */
export function renderMarkdown(report: StaleReport): string {
  const listed = report.owners.reduce((n, o) => n + o.flags.length, 0);
  const history = report.history.read
    ? `History: ${report.history.records} publish(es) read from ${report.history.where}`
    : `History: not read (${report.history.why})`;
  const counts = report.evaluations;
  const evaluations = !counts.known
    ? `Evaluations: ${counts.note ?? "unknown"}`
    : `Evaluations: counted${counts.where ? ` by ${counts.where}` : ""} ${counts.countingSince ? `since ${counts.countingSince.slice(0, 10)}` : "(nothing counted yet)"}`;
  const lines = [
    "# Stale flags report",
    "",
    `${code(report.file)} as of ${report.date}: ${listed} of ${report.total} flags need attention. ${history}. ${evaluations}.`,
    "",
    "| Category | Flags |",
    "| --- | ---: |",
    ...Object.entries(report.summary).map(([category, n]) => {
      const count = n === null ? (report.evaluations.note ?? "unknown") : String(n);
      return `| ${categoryTitle(category as Category, report.days)} | ${count} |`;
    }),
    "",
  ];
  if (listed === 0) lines.push("Nothing to clean up.", "");
  for (const { owner, flags } of report.owners) {
    lines.push(`## ${owner === null ? NO_OWNER : plain(owner)} (${flags.length})`, "");
    for (const flag of flags) lines.push(...flagLines(flag, report.days));
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
