/** Progress lines for the CLI's waits: silent when quick, plain lines on a pipe, one redrawn line on a terminal. */
import { describe, expect, it } from "vitest";
import { fitProgress, progressText, startProgress } from "../../src/publisher/progress";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("progressText", () => {
  it("is the label, whole seconds and the status in parentheses", () => {
    expect(progressText("waiting for the worker to serve version 5", 3400, "serving 4")).toBe(
      "waiting for the worker to serve version 5... 3 s (serving 4)",
    );
    expect(progressText("waiting", 1999, "")).toBe("waiting... 2 s");
  });
});

describe("fitProgress", () => {
  it("keeps the moving seconds: drops the status first, then shortens the label", () => {
    expect(fitProgress("waiting for x", 3000, "serving 4", 80)).toBe("waiting for x... 3 s (serving 4)");
    expect(fitProgress("waiting for x", 3000, "serving 4", 25)).toBe("waiting for x... 3 s");
    expect(fitProgress("waiting for a rather long thing", 3000, "serving 4", 20)).toBe(
      "waiting for …... 3 s",
    );
  });
});

describe("startProgress", () => {
  it("prints nothing for a wait that ends before the delay", async () => {
    const out: string[] = [];
    const p = startProgress((t) => out.push(t), "waiting", { delayMs: 100 });
    p.update("serving 4");
    await sleep(20);
    p.done();
    await sleep(150);
    expect(out).toEqual([]);
  });

  it("without a terminal: a whole line after the delay, then one per interval, none after done", async () => {
    const out: string[] = [];
    let t = 0;
    // Generous gaps between the ticks (50 ms, then 400 ms later): a busy machine fires timers late.
    const p = startProgress((s) => out.push(s), "waiting", { delayMs: 50, everyMs: 400, now: () => t });
    p.update("serving 4");
    t = 3000;
    await sleep(200);
    expect(out).toEqual(["waiting... 3 s (serving 4)\n"]);
    p.update("serving 5"); // a status change alone prints nothing: lines come on the clock
    expect(out).toHaveLength(1);
    await sleep(400);
    expect(out).toEqual(["waiting... 3 s (serving 4)\n", "waiting... 3 s (serving 5)\n"]);
    p.done();
    await sleep(500);
    expect(out).toHaveLength(2);
  });

  it("on a terminal: one line redrawn in place (no newline), fitted to the width, cleared by done", async () => {
    const out: string[] = [];
    const p = startProgress((s) => out.push(s), "waiting for a rather long thing to happen", {
      terminal: { columns: 30 },
      delayMs: 30,
      now: () => 0,
    });
    await sleep(200);
    p.update("serving 4");
    p.done();
    expect(out).toHaveLength(3);
    for (const frame of out) expect(frame.startsWith("\r\x1b[2K")).toBe(true);
    expect(out.join("")).not.toContain("\n");
    expect(out[0]).toBe("\r\x1b[2Kwaiting for a rather …... 0 s");
    expect(out[2]).toBe("\r\x1b[2K");
  });
});
