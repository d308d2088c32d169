/**
 * Test helper: flags-file snippets carry a "‸" marker where a problem must be reported; this strips
 * it and returns the marker's 1-based line and column. Pure, no I/O.
 */
export const MARK = "‸";

export function marked(source: string): { text: string; line: number; column: number } {
  const index = source.indexOf(MARK);
  if (index < 0 || source.indexOf(MARK, index + 1) >= 0) throw new Error("snippet needs exactly one marker");
  const before = source.slice(0, index);
  const line = before.split("\n").length;
  const column = index - before.lastIndexOf("\n");
  return { text: before + source.slice(index + MARK.length), line, column };
}
