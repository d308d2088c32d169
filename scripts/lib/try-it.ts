/**
 * The "what to try" block `npm start` prints once the demo flags are live: requests as data (so a
 * test can send every one of them to a worker serving examples/demo.flags.yaml) and their curl
 * lines. Pure.
 */

/** The demo flags the examples rely on; test/scripts/try-it.test.ts checks each against the demo. */
export const DEMO_FLAGS = {
  /** Client-visible, on for everyone: the kill-switch example turns it off. */
  killable: "demo-flag",
  /** Server-only (not clientVisible): needs `X-API-Key` with one of SERVER_API_KEYS. */
  serverOnly: "search-backend-v2",
  /** Client-visible, EU only and on a schedule (Berlin office hours). */
  scheduled: "live-support-chat",
} as const;

export interface TryRequest {
  label: string;
  method: "GET" | "POST";
  /** Path and query under the worker's base URL. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Lines printed under the command. */
  hints?: string[];
}

const OFREP_BODY = JSON.stringify({ context: { targetingKey: "user-1" } });
const JSON_TYPE = { "content-type": "application/json" };

/** The requests to try, against a worker whose SERVER_API_KEYS include `serverApiKey`. */
export function tryRequests(serverApiKey: string): TryRequest[] {
  return [
    { label: "flags for a visitor", method: "GET", path: "/v1/flags?targetingKey=user-1" },
    {
      label: "as if from Germany",
      method: "GET",
      path: "/v1/flags?targetingKey=user-1",
      headers: { "CF-IPCountry": "DE", "CF-IPContinent": "EU" },
      hints: [
        `${DEMO_FLAGS.scheduled} is true only with both headers (EU) and during Berlin office hours:`,
        "Mon-Fri 09:00-17:30, Sat 10:00-14:00 (Europe/Berlin); otherwise false",
      ],
    },
    {
      label: "OFREP, bulk",
      method: "POST",
      path: "/ofrep/v1/evaluate/flags",
      headers: JSON_TYPE,
      body: OFREP_BODY,
    },
    {
      label: "server-only, OFREP",
      method: "POST",
      path: `/ofrep/v1/evaluate/flags/${DEMO_FLAGS.serverOnly}`,
      headers: { "X-API-Key": serverApiKey, ...JSON_TYPE },
      body: OFREP_BODY,
      hints: ["the X-API-Key is the development server key (SERVER_API_KEYS in .dev.vars)"],
    },
    { label: "health", method: "GET", path: "/healthz" },
  ];
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The request as a curl command (POSTs break before the body to keep lines short). */
export function curlCommand(baseUrl: string, r: TryRequest): string {
  const parts = ["curl"];
  if (r.method !== "GET") parts.push(`-X ${r.method}`);
  for (const [name, value] of Object.entries(r.headers ?? {})) parts.push(`-H ${quote(`${name}: ${value}`)}`);
  const url = quote(`${baseUrl}${r.path}`);
  if (r.body === undefined) return `${parts.join(" ")} ${url}`;
  return `${parts.join(" ")} \\\n  -d ${quote(r.body)} ${url}`;
}

export interface TryItInput {
  baseUrl: string;
  serverApiKey: string;
  /** The development PUBLISH_TOKEN, printed to sign in to the console with (local only). */
  publishToken?: string;
  demoFile: string;
  /**
   * EDGEFLAGS_* settings exported in the developer's shell (say, for a real deployment): they win
   * over .edgeflags/config.json, so the `npx edgeflags` lines would not reach this worker.
   */
  shellSettings?: string[];
  bold?: (text: string) => string;
}

/** Where commands start: two spaces, the longest label and its colon, a space. */
const WIDTH = 24;

function entry(label: string, command: string): string[] {
  const [first, ...rest] = command.split("\n");
  const head = `  ${(label === "" ? "" : `${label}:`).padEnd(WIDTH - 2)}${first}`;
  return [head, ...rest.map((line) => `${" ".repeat(WIDTH)}${line}`)];
}

/** The whole block, ready to print. */
export function tryItText(input: TryItInput): string {
  const { baseUrl, demoFile } = input;
  const bold = input.bold ?? ((t: string) => t);
  const lines = [`${bold("edgeflags is running on")} ${baseUrl}`];
  for (const r of tryRequests(input.serverApiKey)) {
    lines.push(...entry(r.label, curlCommand(baseUrl, r)));
    for (const hint of r.hints ?? []) lines.push(`${" ".repeat(WIDTH)}# ${hint}`);
  }
  lines.push(
    `  after editing ${demoFile}:`,
    ...entry("", `npx edgeflags publish ${demoFile}`),
    ...entry("kill switch", `npx edgeflags kill ${DEMO_FLAGS.killable} --reason test`),
    ...entry("history", "npx edgeflags history"),
    ...entry("console", `${baseUrl}/console`),
    `${" ".repeat(WIDTH)}# sign in with PUBLISH_TOKEN from .dev.vars${input.publishToken ? `: ${input.publishToken}` : ""} (or set CONSOLE_TOKEN there, read-only)`,
  );
  const shell = input.shellSettings ?? [];
  if (shell.length > 0) {
    lines.push(
      `Note: ${shell.join(", ")} ${shell.length === 1 ? "is" : "are"} set in this shell and win over .edgeflags/config.json:`,
      "      unset them to run these edgeflags commands against this worker.",
    );
  }
  lines.push("Settings: .edgeflags/config.json (CLI), .dev.vars (worker). Ctrl-C stops.");
  return lines.join("\n");
}
