/**
 * The files `npm start` needs on a fresh clone, created once and reused afterwards: the development
 * signing key and its public JWKS, `.dev.vars` for wrangler, `.edgeflags/config.json` for the CLI and
 * the local `request.cf` stand-in. I/O: reads and writes those files under the project root.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JWK } from "jose";
import { writeSecretFile } from "../../src/publisher/commands/keygen";
import { generateKeys, publicPart } from "../../src/publisher/keys";

export const DEV_PORT = 8787;
export const DEV_URL = `http://127.0.0.1:${DEV_PORT}`;
export const DEV_ENVIRONMENT = "development";

export interface DevSetup {
  kid: string;
  createdKey: boolean;
  publishToken: string;
  cfPath: string;
}

/** KEY=VALUE lines of a dotenv file, quotes removed (enough for the values written here). */
export function readDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][\w]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const raw = m[2] as string;
    const quoted = /^(['"])(.*)\1$/.exec(raw);
    vars.set(m[1] as string, quoted ? (quoted[2] as string) : raw);
  }
  return vars;
}

/** Sets `updates` in a dotenv text, keeping every other line as the developer left it. */
export function mergeDotenv(text: string, updates: Record<string, string>): string {
  const pending = new Map(Object.entries(updates));
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const out = lines.map((line) => {
    const name = /^\s*([A-Za-z_][\w]*)\s*=/.exec(line)?.[1];
    if (name === undefined || !pending.has(name)) return line;
    const value = pending.get(name) as string;
    pending.delete(name);
    return `${name}='${value}'`;
  });
  for (const [name, value] of pending) out.push(`${name}='${value}'`);
  return `${out.join("\n")}\n`;
}

/** Creates what is missing and refreshes what `npm start` owns; returns what the start needs. */
export async function prepareDevFiles(root: string): Promise<DevSetup> {
  const dir = join(root, ".edgeflags");
  mkdirSync(dir, { recursive: true });

  const keyFile = join(dir, "dev-key.json");
  let createdKey = false;
  if (!existsSync(keyFile)) {
    const { privateJwk } = await generateKeys();
    writeSecretFile(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`);
    createdKey = true;
  }
  const privateJwk = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
  const jwks = JSON.stringify({ keys: [publicPart(privateJwk)] });

  const varsFile = join(root, ".dev.vars");
  const varsText = existsSync(varsFile) ? readFileSync(varsFile, "utf8") : "";
  // Keep the token across runs, so a CLI session opened earlier keeps working.
  const publishToken = readDotenv(varsText).get("PUBLISH_TOKEN") || randomBytes(24).toString("base64url");
  const vars = mergeDotenv(varsText, {
    EDGEFLAGS_PUBLIC_KEYS: jwks,
    PUBLISH_TOKEN: publishToken,
    GEO_HEADER_FALLBACK: "true",
    EDGEFLAGS_ENV: DEV_ENVIRONMENT,
  });
  writeSecretFile(varsFile, vars, true);

  const configFile = join(dir, "config.json");
  const existing = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, "utf8")) as object) : {};
  const config = {
    ...existing,
    url: DEV_URL,
    environment: DEV_ENVIRONMENT,
    publishToken,
    privateKeyFile: "dev-key.json",
    target: "worker",
  };
  writeSecretFile(configFile, `${JSON.stringify(config, null, 2)}\n`, true);

  // No country here, so `CF-IPCountry: DE` style headers decide geo locally (GEO_HEADER_FALLBACK).
  const cfPath = join(dir, "cf.json");
  writeFileSync(cfPath, `${JSON.stringify({ colo: "LCL" })}\n`);
  return { kid: privateJwk.kid as string, createdKey, publishToken, cfPath };
}
