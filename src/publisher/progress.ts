/**
 * Progress for the CLI's waits (a publish going live, a worker slow to answer or not answering): on a
 * terminal one status line redrawn in place, elsewhere a plain line every few seconds, so CI logs
 * show the wait without a line per poll. Always on stderr: stdout stays the report (or the one --json
 * document). Quick waits print nothing. I/O: the injected stderr sink and timers.
 */

export interface ProgressOptions {
  /** stderr is a terminal of this many columns: redraw one line. Absent: plain lines. */
  terminal?: { columns: number };
  /** Nothing is shown before this, ms (default: 1 s on a terminal, 2 s for plain lines). */
  delayMs?: number;
  /** Plain lines: one every this often after the first, ms (default 5 s). */
  everyMs?: number;
  now?: () => number;
}

/** A running wait's progress. `done` (call it in `finally`) clears the terminal line. */
export interface Progress {
  /** What the wait sees now, shown in parentheses: "serving 4", "no answer: ECONNREFUSED, retrying". */
  update(status: string): void;
  done(): void;
}

/** Makes the progress for a wait described by `label` ("waiting for the worker to serve version 5"). */
export type ProgressFactory = (label: string) => Progress;

/** A progress that shows nothing (tests, callers without a terminal or log to write to). */
export const silentProgress: ProgressFactory = () => ({ update() {}, done() {} });

const CLEAR_LINE = "\r\x1b[2K";
const REDRAW_MS = 1000;

/** `label... 3 s (status)`, in whole seconds (rounded: timers fire a hair before the clock's second). */
export function progressText(label: string, elapsedMs: number, status: string): string {
  const seconds = Math.round(elapsedMs / 1000);
  return `${label}... ${seconds} s${status === "" ? "" : ` (${status})`}`;
}

/**
 * The text in at most `width` characters, for a line redrawn in place (a wider one would wrap, and
 * \r would redraw just its tail). The seconds are what moves, so they stay: the status goes first,
 * then the label is shortened.
 */
export function fitProgress(label: string, elapsedMs: number, status: string, width: number): string {
  const full = progressText(label, elapsedMs, status);
  if (full.length <= width) return full;
  const bare = progressText(label, elapsedMs, "");
  if (bare.length <= width) return bare;
  const tail = bare.slice(label.length);
  return `${label.slice(0, Math.max(0, width - tail.length - 1))}…${tail}`;
}

/** Starts the progress of one wait now. */
export function startProgress(
  write: (text: string) => void,
  label: string,
  options: ProgressOptions = {},
): Progress {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const terminal = options.terminal;
  const delayMs = options.delayMs ?? (terminal ? 1000 : 2000);
  const everyMs = options.everyMs ?? 5000;
  let status = "";
  let shown = false;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const text = () => progressText(label, now() - started, status);
  const draw = () => {
    const width = Math.max(20, (terminal?.columns ?? 80) - 1);
    write(`${CLEAR_LINE}${fitProgress(label, now() - started, status, width)}`);
    shown = true;
  };
  const schedule = (ms: number, tick: () => void) => {
    timer = setTimeout(tick, ms);
    timer.unref?.();
  };
  const tick = () => {
    if (finished) return;
    if (terminal) {
      draw();
      schedule(REDRAW_MS, tick);
    } else {
      write(`${text()}\n`);
      shown = true;
      schedule(everyMs, tick);
    }
  };
  schedule(delayMs, tick);

  return {
    update(next) {
      if (next === status) return;
      status = next;
      if (terminal && shown && !finished) draw();
    },
    done() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (terminal && shown) write(CLEAR_LINE);
    },
  };
}
