/**
 * The files `npm start` needs on a fresh clone, created once and reused afterwards: the development
 * signing key and its public JWKS, `.dev.vars` for wrangler (with a publish token and a server API
 * key), `.edgeflags/config.json` for the CLI and the local `request.cf` stand-in. I/O: reads and
 * writes those files under the project root.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JWK } from "jose";
import { writeSecretFile } from "../../src/publisher/commands/keygen";
import { generateKeys, publicPart } from "../../src/publisher/keys";

export const DEV_ENVIRONMENT = "development";

/** The local worker's base URL on `port` (loopback only). */
export function devUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export interface DevSetup {
  kid: string;
  createdKey: boolean;
  publishToken: string;
  /** The first SERVER_API_KEYS entry: an `X-API-Key` that reads server-only flags. */
  serverApiKey: string;
  /** Whether this run created the server API key (a developer's own SERVER_API_KEYS are kept). */
  createdServerApiKey: boolean;
  cfPath: string;
}

/** A random secret for the local worker's settings (URL- and header-safe). */
function devSecret(): string {
  return randomBytes(24).toString("base64url");
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

/** The keys of a JWKS text other than `kid`'s; none when the text is not a JWKS. */
function otherKeys(text: string | undefined, kid: string | undefined): JWK[] {
  try {
    const keys = (JSON.parse(text ?? "") as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) return [];
    return keys.filter((k): k is JWK => typeof k === "object" && k !== null && (k as JWK).kid !== kid);
  } catch {
    return [];
  }
}

/**
 * Creates what is missing and refreshes what `npm start` owns, for a worker at `url`; returns what
 * the start needs.
 */
export async function prepareDevFiles(root: string, url: string): Promise<DevSetup> {
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

  const varsFile = join(root, ".dev.vars");
  const varsText = existsSync(varsFile) ? readFileSync(varsFile, "utf8") : "";
  const existingVars = readDotenv(varsText);
  // The development key first; keys a developer added (approvers, on-call, preview: README "Roles,
  // scopes and approvals") are kept, so an EDGEFLAGS_POLICY naming them stays usable.
  const jwks = JSON.stringify({
    keys: [publicPart(privateJwk), ...otherKeys(existingVars.get("EDGEFLAGS_PUBLIC_KEYS"), privateJwk.kid)],
  });
  // Keep the secrets across runs, so a CLI session or a back-end configured earlier keeps working.
  const publishToken = existingVars.get("PUBLISH_TOKEN") || devSecret();
  // SERVER_API_KEYS is a comma-separated list (src/http/config.ts); a developer's own list is kept.
  const ownKeys = (existingVars.get("SERVER_API_KEYS") ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  const serverApiKey = ownKeys[0] ?? devSecret();
  const vars = mergeDotenv(varsText, {
    EDGEFLAGS_PUBLIC_KEYS: jwks,
    PUBLISH_TOKEN: publishToken,
    ...(ownKeys.length === 0 ? { SERVER_API_KEYS: serverApiKey } : {}),
    GEO_HEADER_FALLBACK: "true",
    EDGEFLAGS_ENV: DEV_ENVIRONMENT,
  });
  writeSecretFile(varsFile, vars, true);

  const configFile = join(dir, "config.json");
  const existing = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, "utf8")) as object) : {};
  const config = {
    ...existing,
    url,
    environment: DEV_ENVIRONMENT,
    publishToken,
    // `edgeflags explain` sends it as X-API-Key.
    serverApiKey,
    privateKeyFile: "dev-key.json",
    target: "worker",
  };
  writeSecretFile(configFile, `${JSON.stringify(config, null, 2)}\n`, true);

  // No country here, so `CF-IPCountry: DE` style headers decide geo locally (GEO_HEADER_FALLBACK).
  const cfPath = join(dir, "cf.json");
  writeFileSync(cfPath, `${JSON.stringify({ colo: "LCL" })}\n`);
  return {
    kid: privateJwk.kid as string,
    createdKey,
    publishToken,
    serverApiKey,
    createdServerApiKey: ownKeys.length === 0,
    cfPath,
  };
}
