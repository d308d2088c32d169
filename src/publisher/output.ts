/**
 * How the CLI talks: human lines (coloured with node:util styleText when the stream is a terminal)
 * or one JSON document for scripts, and the exit codes. Writes only through the injected sinks.
 */
import { styleText } from "node:util";
import { type Progress, startProgress } from "./progress";

/** 0 ok, 1 problems found or refused, 2 usage error, 3 cannot reach the target or read a file. */
export const EXIT = { ok: 0, problems: 1, usage: 2, io: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with its exit code and a plain-language message; `details` go to --json output. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Where output goes. The real CLI passes process streams; tests pass collectors. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Colour human output (a TTY without NO_COLOR). */
  color?: boolean;
  /** stderr is a terminal this many columns wide: progress redraws one status line there. */
  stderrColumns?: number;
}

type Style = Parameters<typeof styleText>[0];

export class Output {
  /** Whether the --json result was already written (a failure then adds nothing to stdout). */
  printed = false;

  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  paint(style: Style, text: string): string {
    return this.io.color ? styleText(style, text, { validateStream: false }) : text;
  }

  /** A line for people; suppressed in --json mode so stdout stays one JSON document. */
  line(text = ""): void {
    if (!this.json) this.io.stdout(`${text}\n`);
  }

  /** A progress or diagnostic line on stderr, also in --json mode. */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  error(text: string): void {
    this.io.stderr(`${this.paint(["bold", "red"], "error")}: ${text}\n`);
  }

  warning(text: string): void {
    this.io.stderr(`${this.paint(["bold", "yellow"], "warning")}: ${text}\n`);
  }

  /**
   * Progress of a wait, on stderr in every mode (stdout stays the report or the one JSON document):
   * a redrawn line on a terminal, else a plain line every few seconds.
   */
  progress(label: string): Progress {
    const columns = this.io.stderrColumns;
    return startProgress(this.io.stderr, label, columns ? { terminal: { columns } } : {});
  }

  ok(text: string): void {
    this.line(`${this.paint("green", "✓")} ${text}`);
  }

  /** The machine-readable result, printed once at the end of a command in --json mode. */
  result(value: unknown): void {
    if (this.json && !this.printed) this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    this.printed = true;
  }
}

/** `1.23 s` or `45 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
