/**
 * How the CLI talks: human lines (coloured with node:util styleText when the stream is a terminal),
 * one JSON document for scripts, or GitHub Actions workflow commands (annotations on a file's lines),
 * and the exit codes. Writes only through the injected sinks.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { styleText } from "node:util";
import { type Progress, startProgress } from "./progress";

/**
 * 0 ok, 1 problems found or refused, 2 usage error, 3 cannot reach the target or read a file, 4
 * published but `--confirm all` found active locations that did not serve it in time.
 */
export const EXIT = { ok: 0, problems: 1, usage: 2, io: 3, unconfirmed: 4 } as const;
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
  /** stdout is a terminal: `stats` draws sparklines there (a table otherwise). */
  stdoutTTY?: boolean;
  /** stderr is a terminal this many columns wide: progress redraws one status line there. */
  stderrColumns?: number;
}

type Style = Parameters<typeof styleText>[0];

/** `text` for people, `json` for scripts (--json), `github` for GitHub Actions (annotations). */
export const FORMATS = ["text", "json", "github"] as const;
export type Format = (typeof FORMATS)[number];

/** Where an annotation points; without a file it is shown on the run, not on a line. */
export interface AnnotationPlace {
  file?: string;
  line?: number;
  column?: number;
  title?: string;
}

/**
 * Escaping of GitHub workflow commands (as @actions/core does it): the message may not break the
 * line, and a property value may not end its property or the property list either. Escaping is also
 * what keeps text from the flags file from starting a workflow command of its own on a new line.
 */
export const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
export const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** `::error file=F,line=L,col=C,title=T::message`, escaped. */
export function workflowCommand(
  level: "error" | "warning" | "notice",
  message: string,
  place: AnnotationPlace = {},
): string {
  const props: string[] = [];
  if (place.file !== undefined) props.push(`file=${escapeProperty(place.file)}`);
  if (place.file !== undefined && place.line !== undefined) props.push(`line=${place.line}`);
  if (place.file !== undefined && place.line !== undefined && place.column !== undefined) {
    props.push(`col=${place.column}`);
  }
  if (place.title !== undefined) props.push(`title=${escapeProperty(place.title)}`);
  return `::${level}${props.length > 0 ? ` ${props.join(",")}` : ""}::${escapeData(message)}`;
}

export class Output {
  /** Whether the --json result was already written (a failure then adds nothing to stdout). */
  printed = false;

  constructor(
    readonly io: Io,
    readonly format: Format = "text",
  ) {}

  /** One JSON document on stdout and nothing else there. */
  get json(): boolean {
    return this.format === "json";
  }

  /** Workflow commands for GitHub Actions on stdout (problems as annotations on the file's lines). */
  get github(): boolean {
    return this.format === "github";
  }

  paint(style: Style, text: string): string {
    return this.io.color && this.format === "text" ? styleText(style, text, { validateStream: false }) : text;
  }

  /**
   * A GitHub annotation on stdout (github format only). The file is made relative to the checkout
   * (GITHUB_WORKSPACE), since the runner places annotations by that path, whatever the command's cwd.
   */
  annotate(level: "error" | "warning" | "notice", message: string, place: AnnotationPlace = {}): void {
    if (!this.github) return;
    const file = place.file === undefined ? undefined : workspacePath(place.file, this.io);
    this.io.stdout(`${workflowCommand(level, message, { ...place, file })}\n`);
  }

  /** A line for people; suppressed in --json mode so stdout stays one JSON document. */
  line(text = ""): void {
    if (!this.json) this.io.stdout(`${text}\n`);
  }

  /**
   * A line for people on stderr, for commands whose stdout is data to pipe (keygen's keys); suppressed
   * in --json mode like `line`.
   */
  aside(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }

  /** A progress or diagnostic line on stderr, also in --json mode. */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  /** A failure of the command itself on stderr (and, in github format, an annotation on the run). */
  error(text: string): void {
    this.io.stderr(`${this.paint(["bold", "red"], "error")}: ${text}\n`);
    this.annotate("error", text, { title: "edgeflags" });
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

/** `file` (relative to the cwd, or absolute) relative to GITHUB_WORKSPACE when inside it, with `/`. */
export function workspacePath(file: string, io: Pick<Io, "cwd" | "env">): string {
  const workspace = io.env.GITHUB_WORKSPACE;
  if (!workspace) return file.split(sep).join("/");
  const rel = relative(resolve(workspace), resolve(io.cwd, file));
  const inside = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
  return (inside ? rel : file).split(sep).join("/");
}

/** `1.23 s` or `45 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
