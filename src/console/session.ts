/**
 * Console sessions: after a sign-in with the publish token or CONSOLE_TOKEN, the browser holds a
 * short-lived value signed with an HMAC key derived from that token (HKDF, WebCrypto), never the token
 * itself. Changing the token ends every session signed with the old one. The value names the
 * environment, which token signed in, an expiry and a nonce. No I/O beyond WebCrypto.
 */
import type { Config } from "../http/config";

/** How long a session lasts. */
export const SESSION_SECONDS = 12 * 60 * 60;
/** The console's cookie. Not `__Host-`: that prefix demands Path=/, and this one is path-scoped. */
export const SESSION_COOKIE = "ef_console";

/** Which token signed in: the publish token or the read-only console token. */
export type SessionRole = "publish" | "console";

export interface Session {
  role: SessionRole;
  /** Epoch seconds. */
  expires: number;
}

const encoder = new TextEncoder();

function b64url(bytes: ArrayBuffer | Uint8Array): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array | undefined {
  if (!/^[\w-]*$/.test(text)) return undefined;
  try {
    const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The HMAC key of sessions signed in with `token`, derived once per isolate and token. */
const keys = new Map<string, Promise<CryptoKey>>();
function sessionKey(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(token), "HKDF", false, ["deriveKey"]).then((base) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: encoder.encode("edgeflags console"),
          info: encoder.encode("session v1"),
        },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      ),
    );
    keys.set(token, key);
  }
  return key;
}

/** The configured token of a role, if set. */
function tokenOf(config: Config, role: SessionRole): string | undefined {
  return role === "publish" ? config.publishToken : config.consoleToken;
}

const signed = (environment: string, role: SessionRole, expires: number, nonce: string) =>
  encoder.encode(`${environment}|${role}|${expires}|${nonce}`);

/** A new session value for `role`, valid SESSION_SECONDS from `now` (epoch ms). */
export async function createSession(config: Config, role: SessionRole, now: number): Promise<string> {
  const token = tokenOf(config, role);
  if (!token) throw new Error(`no ${role} token is configured`);
  const expires = Math.floor(now / 1000) + SESSION_SECONDS;
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(12)));
  const mac = await crypto.subtle.sign(
    "HMAC",
    await sessionKey(token),
    signed(config.environment, role, expires, nonce),
  );
  return `${role}.${expires}.${nonce}.${b64url(mac)}`;
}

/**
 * The session a cookie value holds, or undefined when it is malformed, forged, signed with a token
 * no longer configured, for another environment, or expired. The MAC check is WebCrypto's
 * (constant-time).
 */
export async function readSession(
  config: Config,
  value: string | undefined,
  now: number,
): Promise<Session | undefined> {
  const parts = value?.split(".");
  if (parts?.length !== 4) return undefined;
  const [role, exp, nonce, macText] = parts as [string, string, string, string];
  if (role !== "publish" && role !== "console") return undefined;
  const token = tokenOf(config, role);
  const expires = /^\d{1,12}$/.test(exp) ? Number(exp) : Number.NaN;
  const mac = fromB64url(macText);
  if (!token || !mac || !(expires > now / 1000) || expires > now / 1000 + SESSION_SECONDS) return undefined;
  const ok = await crypto.subtle.verify(
    "HMAC",
    await sessionKey(token),
    mac,
    signed(config.environment, role, expires, nonce),
  );
  return ok ? { role, expires } : undefined;
}
