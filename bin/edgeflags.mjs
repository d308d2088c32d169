#!/usr/bin/env node
// The `edgeflags` command: runs the built CLI (dist/cli.mjs, plain JavaScript: what the installed
// package ships) or, in a clone of the repository, the TypeScript sources through tsx, so a clone
// needs no build step and never runs a stale one. Then hands the arguments to `main`.
// I/O: the process's streams and exit code.
import { existsSync } from "node:fs";
import module from "node:module";

// `edgeflags history | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/** The sources when this is a clone with tsx installed, else the build (the published package). */
async function load() {
  const sources = new URL("../src/publisher/cli.ts", import.meta.url);
  if (existsSync(sources)) {
    try {
      const { register } = await import("tsx/esm/api");
      register();
      return await import(sources.href);
    } catch (err) {
      // A clone installed without devDependencies: run the build, if there is one.
      if (err.code !== "ERR_MODULE_NOT_FOUND" || !/['"]tsx['"]/.test(err.message)) throw err;
    }
  }
  // Node 22.1+ keeps V8's compiled code between runs (Node 20 lacks it).
  module.enableCompileCache?.();
  try {
    return await import("../dist/cli.mjs");
  } catch (err) {
    if (err.code === "ERR_MODULE_NOT_FOUND" && /dist[\\/]cli\.mjs/.test(err.message)) {
      process.stderr.write("error: edgeflags is not built: run `npm run build` (or `npm install` tsx)\n");
      process.exit(2);
    }
    throw err;
  }
}

const { main } = await load();
process.exitCode = await main(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    stdoutTTY: process.stdout.isTTY === true,
    // Progress redraws its line with \r and an erase sequence, which a "dumb" terminal lacks.
    stderrColumns:
      process.stderr.isTTY === true && process.env.TERM !== "dumb" ? process.stderr.columns || 80 : undefined,
  },
  true,
);
