/**
 * The workerd compatibility date and flags, read from wrangler.toml so that every local worker
 * (tests, benchmarks, Miniflare) runs on the settings `wrangler deploy` uses. I/O: reads wrangler.toml
 * once.
 */
import { readFileSync } from "node:fs";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml);
if (!match) throw new Error("wrangler.toml has no compatibility_date");

export const COMPATIBILITY_DATE = match[1] as string;

const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml);
/** wrangler.toml's `compatibility_flags` (none when it has no such line). */
export const COMPATIBILITY_FLAGS: string[] = flags
  ? [...(flags[1] as string).matchAll(/"([^"]+)"/g)].map((m) => m[1] as string)
  : [];
