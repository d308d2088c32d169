/**
 * `npm start`'s command line: `--port` (or EDGEFLAGS_PORT) and `--help`; anything else is a usage
 * error rather than silently ignored. Pure: the arguments and the environment are passed in.
 */
import { parseArgs } from "node:util";

/** The port `npm start` uses when neither --port nor EDGEFLAGS_PORT says otherwise (wrangler's own). */
export const DEFAULT_PORT = 8787;

/**
 * The environment variable for the port. Not `PORT`: shells, PaaS tooling and other dev servers set
 * that one for their own purposes, and a leftover `PORT=3000` would move the worker without anyone
 * asking; every other edgeflags setting is EDGEFLAGS_* too.
 */
export const PORT_ENV = "EDGEFLAGS_PORT";

export const START_USAGE = `usage: npm start [-- --port N]

Runs the worker locally (wrangler dev on 127.0.0.1) and publishes examples/demo.flags.yaml.

options:
  --port N     port on 127.0.0.1 (default ${DEFAULT_PORT}; also ${PORT_ENV}=N)
  -h, --help   this text

npm takes options before \`--\` for itself: write \`npm start -- --port 9001\`.`;

export interface StartOptions {
  port: number;
  /** Where the port came from, for messages: "--port", "EDGEFLAGS_PORT" or "default". */
  portFrom: string;
  help: boolean;
}

/** A command line `npm start` cannot run with; the message says what to type instead. */
export class StartUsageError extends Error {
  override readonly name = "StartUsageError";
}

function port(text: string, from: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new StartUsageError(`${from} takes a port number from 1 to 65535, got "${text}"`);
  }
  return n;
}

/**
 * Reads `argv` (what follows `npm start --`) and the environment. Precedence: --port, then npm's
 * own `--port=N` (npm keeps it as npm_config_port), then EDGEFLAGS_PORT, then 8787.
 */
export function parseStartArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): StartOptions {
  let values: { port?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { port: { type: "string", short: "p" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const option = /'([^']+)'/.exec((err as Error).message)?.[1] ?? "";
      throw new StartUsageError(`unknown option ${option}`.trim());
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new StartUsageError("--port needs a number");
    throw err;
  }
  if (positionals.length > 0) {
    // `npm start --port 9001` (no `--`): npm keeps --port as its own flag and passes only "9001" on.
    const hint =
      env.npm_config_port === "true"
        ? `; npm kept --port for itself: run npm start -- --port ${positionals[0]}`
        : "";
    throw new StartUsageError(`unexpected argument "${positionals[0]}"${hint}`);
  }
  const help = values.help === true;
  if (values.port !== undefined) return { port: port(values.port, "--port"), portFrom: "--port", help };
  const npmPort = env.npm_config_port;
  if (npmPort !== undefined && npmPort !== "" && npmPort !== "true") {
    return { port: port(npmPort, "--port"), portFrom: "--port", help };
  }
  const fromEnv = env[PORT_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    return { port: port(fromEnv, PORT_ENV), portFrom: PORT_ENV, help };
  }
  return { port: DEFAULT_PORT, portFrom: "default", help };
}
