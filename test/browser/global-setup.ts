/** Says once per run, before any test, when the browser suites will be skipped (and how to run them). */
import { browserRequired, findChromium, SKIP_LINE } from "./find-chromium";

export default function setup(): void {
  if (findChromium() === undefined && !browserRequired()) console.log(`\n${SKIP_LINE}\n`);
}
