/**
 * `npm start`: the worker on http://127.0.0.1:8787 in workerd (wrangler dev, local KV, no account,
 * no network) with the demo flags published. Creates development keys and settings on first run,
 * forwards Ctrl-C/SIGTERM to wrangler. I/O: files under the project, a child process, loopback HTTP.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { main } from "../src/publisher/cli";
import { DEV_PORT, DEV_URL, prepareDevFiles } from "./lib/dev-setup";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEMO = "examples/demo.flags.yaml";
const bold = (t: string) => (process.stdout.isTTY ? styleText("bold", t) : t);

/** Whether 127.0.0.1:port can be bound (wrangler would otherwise fail with a less helpful message). */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

async function whoIsOnPort(): Promise<string> {
  try {
    const res = await fetch(`${DEV_URL}/healthz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { environment?: string };
    if (body.environment !== undefined)
      return "an edgeflags worker already runs there (another `npm start`?)";
  } catch {}
  return "another program is listening there";
}

/** Waits until the worker answers /healthz at all (503 before the first publish is fine). */
async function waitForWorker(exited: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (exited()) throw new Error("wrangler exited before the worker came up (see its output above)");
    try {
      await fetch(`${DEV_URL}/healthz`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`the worker did not answer ${DEV_URL}/healthz within ${timeoutMs / 1000} s`);
}

async function start(): Promise<number> {
  if (!(await portFree(DEV_PORT))) {
    console.error(
      `error: port ${DEV_PORT} on 127.0.0.1 is taken: ${await whoIsOnPort()}. Stop it and run npm start again.`,
    );
    return 1;
  }
  const setup = await prepareDevFiles(root);
  console.log(
    setup.createdKey
      ? `created development key ${setup.kid} in .edgeflags/dev-key.json (its public key is in .dev.vars)`
      : `using development key ${setup.kid} from .edgeflags/dev-key.json`,
  );

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDFLARE_CF_FETCH_PATH: setup.cfPath,
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: join(root, ".wrangler", "xdg"),
  };
  // The cf file must win over "no cf at all", which would give workerd's placeholder with a country.
  delete env.CLOUDFLARE_CF_FETCH_ENABLED;
  const wrangler = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(DEV_PORT), "--show-interactive-dev-session=false"],
    // Its own process group: a terminal's Ctrl-C reaches wrangler once, through the handler below.
    { cwd: root, env, stdio: ["ignore", "inherit", "inherit"], detached: true },
  );
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
    await waitForWorker(() => exitCode !== null);
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
    console.log(`
${bold("edgeflags is running on")} ${DEV_URL}
  flags for a visitor:  curl '${DEV_URL}/v1/flags?targetingKey=user-1'
  as if from Germany:   curl -H 'CF-IPCountry: DE' -H 'CF-IPContinent: EU' '${DEV_URL}/v1/flags?targetingKey=user-1'
  health:               curl ${DEV_URL}/healthz
  OFREP:                curl -X POST -H 'content-type: application/json' \\
                          -d '{"context":{"targetingKey":"user-1"}}' ${DEV_URL}/ofrep/v1/evaluate/flags
  after editing ${DEMO}:
                        npx edgeflags publish ${DEMO}
  kill switch:          npx edgeflags kill demo-flag --reason test
  history:              npx edgeflags history
Settings: .edgeflags/config.json (CLI), .dev.vars (worker). Ctrl-C stops.`);
  }
  const code = await exited;
  return stopping ? 0 : code;
}

process.exitCode = await start();
