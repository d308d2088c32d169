/**
 * The workerd compatibility date, read from wrangler.toml so that every local worker (tests,
 * benchmarks, Miniflare) runs on the date `wrangler deploy` uses. I/O: reads wrangler.toml once.
 */
import { readFileSync } from "node:fs";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml);
if (!match) throw new Error("wrangler.toml has no compatibility_date");

export const COMPATIBILITY_DATE = match[1] as string;
