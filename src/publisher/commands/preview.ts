/**
 * `edgeflags preview FLAG=VARIANT... --for 2h [--for-key KEY] [--key FILE] [--url URL]`: signs a
 * preview token (src/preview) and prints the link that opens it: URL + `?ef_preview=<token>`. Opening
 * the link serves those variants to that browser only, until the token expires, for the flags the
 * key's scope covers (never permission flags or geo restrictions). The key must have the `preview`
 * role in the worker's EDGEFLAGS_POLICY; the worker ignores the link otherwise. stdout holds only the
 * link (`open "$(edgeflags preview ...)"` works); notes go to stderr. No network; I/O: the key file.
 */
import { previewPayload, signPreviewToken } from "../../preview/sign";
import {
  MAX_PREVIEW_FLAGS,
  MAX_PREVIEW_LIFETIME_SECONDS,
  MAX_PREVIEW_SUB_LENGTH,
  PREVIEW_PARAM,
} from "../../preview/token";
import { type CliOptions, resolveSettings } from "../config";
import { loadPrivateKey } from "../keys";
import { CliError, EXIT } from "../output";
import type { CommandContext } from "./context";

export interface PreviewOptions extends Pick<CliOptions, "config" | "env" | "key" | "url"> {
  /** How long the link works: `30m`, `2h`, `3d`, `1w` (at most 7 days). */
  for?: string;
  /** Only requests with this targeting key get the overrides. */
  forKey?: string;
  /** Epoch ms to sign at (tests); default now. */
  now?: number;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const MIN_LIFETIME_SECONDS = 60;

/** `--for`: "90m", "2h", "7d" -> seconds, from one minute to the 7-day maximum. */
export function parseLifetime(text: string | undefined): number {
  if (text === undefined) {
    throw new CliError(EXIT.usage, "say how long the link works with --for, e.g. --for 2h (at most 7d)");
  }
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * (UNITS[m[2] as string] as number) : Number.NaN;
  if (
    !Number.isSafeInteger(seconds) ||
    seconds < MIN_LIFETIME_SECONDS ||
    seconds > MAX_PREVIEW_LIFETIME_SECONDS
  ) {
    throw new CliError(
      EXIT.usage,
      `--for takes a duration from 1m to 7d, like 30m, 2h or 3d, got "${text}" (preview links are short-lived)`,
    );
  }
  return seconds;
}

/** `FLAG=VARIANT` pairs -> flag -> variant; a flag named twice must name one variant. */
export function parseAssignments(assignments: readonly string[]): Record<string, string> {
  if (assignments.length === 0) throw new CliError(EXIT.usage, "name at least one FLAG=VARIANT");
  const flags: Record<string, string> = {};
  for (const a of assignments) {
    const eq = a.indexOf("=");
    const flag = eq < 0 ? "" : a.slice(0, eq).trim();
    const variant = eq < 0 ? "" : a.slice(eq + 1).trim();
    if (flag === "" || variant === "") {
      throw new CliError(EXIT.usage, `"${a}" is not FLAG=VARIANT (e.g. new-checkout=on)`);
    }
    if (Object.hasOwn(flags, flag) && flags[flag] !== variant) {
      throw new CliError(
        EXIT.usage,
        `flag "${flag}" is named twice, with variants "${flags[flag]}" and "${variant}"`,
      );
    }
    flags[flag] = variant;
  }
  if (Object.keys(flags).length > MAX_PREVIEW_FLAGS) {
    throw new CliError(EXIT.usage, `a preview link holds at most ${MAX_PREVIEW_FLAGS} flags`);
  }
  return flags;
}

/** `url` with `?ef_preview=<token>` (replacing one it already has; any #fragment stays last). */
export function previewLink(url: string, token: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(EXIT.usage, `--url must be an http:// or https:// URL, got "${url}"`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new CliError(EXIT.usage, `--url must be an http:// or https:// URL, got "${url}"`);
  }
  u.searchParams.set(PREVIEW_PARAM, token);
  return u.toString();
}

export async function previewCommand(
  assignments: string[],
  options: PreviewOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const flags = parseAssignments(assignments);
  const lifetimeSeconds = parseLifetime(options.for);
  const forKey = options.forKey;
  if (forKey !== undefined && (forKey === "" || forKey.length > MAX_PREVIEW_SUB_LENGTH)) {
    throw new CliError(
      EXIT.usage,
      `--for-key takes a targeting key of 1-${MAX_PREVIEW_SUB_LENGTH} characters`,
    );
  }
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  // The page to open: --url as given (settings strip a trailing slash, which a page path may need).
  const url = options.url ?? settings.url;
  if (url === undefined) {
    throw new CliError(
      EXIT.usage,
      "no URL to open: pass --url (the page to preview, e.g. https://shop.example.com/checkout) or set EDGEFLAGS_URL",
    );
  }
  const { signer } = await loadPrivateKey(settings);
  const now = options.now ?? Date.now();
  let token: string;
  try {
    const payload = previewPayload({
      environment: settings.environment,
      flags,
      lifetimeSeconds,
      sub: options.forKey,
      now,
    });
    token = await signPreviewToken(payload, signer);
  } catch (err) {
    throw new CliError(EXIT.usage, (err as Error).message);
  }
  const link = previewLink(url, token);
  const expiresAt = new Date((Math.floor(now / 1000) + lifetimeSeconds) * 1000).toISOString();
  out.result({
    ok: true,
    link,
    token,
    environment: settings.environment,
    flags,
    expiresAt,
    kid: signer.kid,
    ...(options.forKey === undefined ? {} : { targetingKey: options.forKey }),
  });
  const list = Object.entries(flags)
    .map(([f, v]) => `${f}=${v}`)
    .join(", ");
  const whom = options.forKey === undefined ? "whoever opens it" : `targeting key "${options.forKey}" only`;
  out.aside(`# preview of ${list} in ${settings.environment}, for ${whom}, until ${expiresAt}`);
  out.aside(
    `# signed by ${signer.kid}: the worker applies it only if EDGEFLAGS_POLICY gives this key the preview role and its scope covers the flags (never permission flags or geo restrictions)`,
  );
  out.line(link);
  return EXIT.ok;
}
