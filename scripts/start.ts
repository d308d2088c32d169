/**
 * `npm start`: the worker on http://127.0.0.1:8787 (or `--port` / EDGEFLAGS_PORT) in workerd (wrangler
 * dev, local KV, no account, no network) with the demo flags published. Creates development keys and
 * settings on first run, forwards Ctrl-C/SIGTERM to wrangler. I/O: files under the project, a child
 * process, loopback HTTP.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { main } from "../src/publisher/cli";
import { devUrl, prepareDevFiles } from "./lib/dev-setup";
import { PORT_ENV, parseStartArgs, START_USAGE, StartUsageError } from "./lib/start-args";
import { tryItText } from "./lib/try-it";
import { isFirstStartNoise } from "./lib/wrangler-lines";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEMO = "examples/demo.flags.yaml";
const bold = (t: string) => (process.stdout.isTTY ? styleText("bold", t) : t);

/** Settings in the shell that win over .edgeflags/config.json (src/publisher/config.ts). */
const SHELL_SETTINGS = [
  "EDGEFLAGS_URL",
  "EDGEFLAGS_ENV",
  "EDGEFLAGS_PUBLISH_TOKEN",
  "EDGEFLAGS_PRIVATE_KEY",
  "EDGEFLAGS_PRIVATE_KEY_FILE",
  "EDGEFLAGS_TARGET",
  "EDGEFLAGS_CONFIG",
];

/** Whether 127.0.0.1:port can be bound (wrangler would otherwise fail with a less helpful message). */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

async function whoIsOnPort(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { environment?: string };
    if (body.environment !== undefined)
      return "an edgeflags worker already runs there (another `npm start`?)";
  } catch {}
  return "another program is listening there";
}

/**
 * Waits until the worker answers /healthz at all (503 before the first publish is fine). wrangler
 * prints its own start-up lines; a slow start (first bundle, a busy machine) gets a line every 10 s.
 */
async function waitForWorker(url: string, exited: () => boolean, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  let nextNote = started + 10_000;
  while (Date.now() - started < timeoutMs) {
    if (exited()) throw new Error("wrangler exited before the worker came up (see its output above)");
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() >= nextNote) {
        console.log(
          `still waiting for the worker to answer on ${url}... ${Math.round((Date.now() - started) / 1000)} s`,
        );
        nextNote += 10_000;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`the worker did not answer ${url}/healthz within ${timeoutMs / 1000} s`);
}

async function start(argv: string[]): Promise<number> {
  let port: number;
  let portFrom: string;
  try {
    const options = parseStartArgs(argv, process.env);
    if (options.help) {
      console.log(START_USAGE);
      return 0;
    }
    ({ port, portFrom } = options);
  } catch (err) {
    if (!(err instanceof StartUsageError)) throw err;
    console.error(`error: ${err.message}\n\n${START_USAGE}`);
    return 2;
  }
  const url = devUrl(port);
  if (!(await portFree(port))) {
    let other = port + 1;
    while (other < port + 20 && other <= 65_535 && !(await portFree(other))) other++;
    const from = portFrom === "default" ? "" : ` (from ${portFrom})`;
    console.error(
      `error: port ${port}${from} on 127.0.0.1 is taken: ${await whoIsOnPort(url)}. Stop it, or choose another port: npm start -- --port ${other} (or ${PORT_ENV}=${other} npm start).`,
    );
    return 1;
  }
  const setup = await prepareDevFiles(root, url);
  console.log(
    setup.createdKey
      ? `created development key ${setup.kid} in .edgeflags/dev-key.json (its public key is in .dev.vars)`
      : `using development key ${setup.kid} from .edgeflags/dev-key.json`,
  );
  if (setup.createdServerApiKey)
    console.log("created a development server API key (SERVER_API_KEYS in .dev.vars)");

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDFLARE_CF_FETCH_PATH: setup.cfPath,
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: join(root, ".wrangler", "xdg"),
  };
  // The cf file must win over "no cf at all", which would give workerd's placeholder with a country.
  delete env.CLOUDFLARE_CF_FETCH_ENABLED;
  // wrangler's output comes through a pipe (see `forward`): keep its colours on a terminal.
  if (process.stdout.isTTY && !process.env.NO_COLOR) env.FORCE_COLOR ??= "1";
  const wrangler = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false"],
    // Its own process group: a terminal's Ctrl-C reaches wrangler once, through the handler below.
    // Only stdout is piped (its request-log lines are filtered below); stderr stays the terminal's, as
    // a piped stderr left wrangler's esbuild child to die noisily on Ctrl-C.
    { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], detached: true },
  );
  // Until the demo is published, the request-log lines of answers that only mean "nothing published
  // yet" are left out (scripts/lib/wrangler-lines.ts); everything else passes line by line.
  let firstStart = true;
  const forward = (from: Readable, to: NodeJS.WriteStream) =>
    createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      if (!(firstStart && isFirstStartNoise(line))) to.write(`${line}\n`);
    });
  forward(wrangler.stdout, process.stdout);
  let exitCode: number | null = null;
  const exited = new Promise<number>((done) =>
    wrangler.on("exit", (code, signal) => {
      exitCode = code ?? (signal ? 0 : 1);
      done(exitCode);
    }),
  );
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      console.log(`\nstopping the worker (${signal})...`);
      wrangler.kill(signal);
    });
  }

  try {
    await waitForWorker(url, () => exitCode !== null);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    if (exitCode === null) wrangler.kill("SIGTERM");
    await exited;
    return 1;
  }
  if (!stopping) {
    const io = {
      stdout: (t: string) => process.stdout.write(t),
      stderr: (t: string) => process.stderr.write(t),
      // Only the local settings: EDGEFLAGS_URL, _ENV, _PRIVATE_KEY... exported for a real deployment
      // (README, "Publishing") would otherwise win over them and send the demo flags there.
      env: { EDGEFLAGS_ACTOR: process.env.EDGEFLAGS_ACTOR },
      cwd: root,
      color: process.stdout.isTTY === true,
      stderrColumns: process.stderr.isTTY ? process.stderr.columns || 80 : undefined,
    };
    const demoArgs = [
      "--config",
      join(root, ".edgeflags", "config.json"),
      "--message",
      "npm start: demo flags",
    ];
    const code = await main(["publish", DEMO, ...demoArgs], io);
    if (code !== 0)
      console.error(`the demo flags were not published (exit ${code}); the worker keeps running`);
    const shellSettings = SHELL_SETTINGS.filter((name) => (process.env[name] ?? "") !== "");
    console.log(
      `\n${tryItText({
        baseUrl: url,
        serverApiKey: setup.serverApiKey,
        publishToken: setup.publishToken,
        demoFile: DEMO,
        shellSettings,
        bold,
      })}`,
    );
  }
  firstStart = false;
  const code = await exited;
  return stopping ? 0 : code;
}

process.exitCode = await start(process.argv.slice(2));
