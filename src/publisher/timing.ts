/**
 * Step timings for publish, rollback and kill: how long each step took and the total. Reads the
 * monotonic clock only.
 */
import { performance } from "node:perf_hooks";

export interface StepTime {
  step: string;
  ms: number;
}

export class Timer {
  readonly steps: StepTime[] = [];
  readonly #origin: number;
  #last: number;

  /**
   * `fromProcessStart`: count the time Node took to start and load the CLI as a first step, so the
   * total is what a person waiting on the command experiences.
   */
  constructor(fromProcessStart = false) {
    const now = performance.now();
    this.#origin = fromProcessStart ? 0 : now;
    this.#last = now;
    if (fromProcessStart) this.steps.push({ step: "start-up", ms: now });
  }

  /** Closes the current step under `name`. */
  mark(step: string): void {
    const now = performance.now();
    this.steps.push({ step, ms: now - this.#last });
    this.#last = now;
  }

  total(): number {
    return performance.now() - this.#origin;
  }
}
