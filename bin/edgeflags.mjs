#!/usr/bin/env node
// The `edgeflags` command: registers tsx so the TypeScript sources run on Node 20+ without a build
// step, then hands the arguments to src/publisher/cli.ts. I/O: the process's streams and exit code.
import { register } from "tsx/esm/api";

// `edgeflags history | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

register();
const { main } = await import("../src/publisher/cli.ts");
process.exitCode = await main(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    // Progress redraws its line with \r and an erase sequence, which a "dumb" terminal lacks.
    stderrColumns:
      process.stderr.isTTY === true && process.env.TERM !== "dumb" ? process.stderr.columns || 80 : undefined,
  },
  true,
);
