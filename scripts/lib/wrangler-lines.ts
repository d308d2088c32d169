/**
 * Which of `wrangler dev`'s output lines `npm start` leaves out while it brings the demo up: wrangler's
 * request-log lines for the two answers that, before the first publish, only mean "nothing published
 * yet" - the start's own readiness probe (`GET /healthz 503`) and the CLI reading the live snapshot
 * (`GET /v1/snapshot 404`). The worker says the same once, at info level, and the publish reports its
 * outcome. Any other line (5xx, errors, stack traces, every later request) passes. Pure.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its lines on a terminal.
const ANSI = /\x1b\[[0-9;]*m/g;
const NOTHING_PUBLISHED_YET = /^\[wrangler:info\] (GET \/healthz 503|GET \/v1\/snapshot 404)\b/;

/** Whether `line` is one of those two request-log lines (colours ignored). */
export function isFirstStartNoise(line: string): boolean {
  return NOTHING_PUBLISHED_YET.test(line.replace(ANSI, ""));
}
