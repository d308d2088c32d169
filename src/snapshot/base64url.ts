/**
 * base64url without padding (RFC 4648 section 5), as JWS writes it. workerd has the native
 * `Uint8Array.fromBase64` / `toBase64`; Node 20 (the publisher, the tests) falls back to atob / btoa.
 * `decode` throws a TypeError for anything that is not base64url. Pure.
 */
interface Base64Native {
  fromBase64?: (text: string, options: { alphabet: "base64url" }) => Uint8Array;
}
interface Base64Bytes {
  toBase64?: (options: { alphabet: "base64url"; omitPadding: true }) => string;
}

const native = Uint8Array as unknown as Base64Native;
const encoder = new TextEncoder();

export function decode(text: string): Uint8Array {
  if (native.fromBase64) return native.fromBase64(text, { alphabet: "base64url" });
  if (/[+/]/.test(text)) throw new TypeError("not base64url");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encode(input: Uint8Array | string): string {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  const own = (bytes as Base64Bytes).toBase64;
  if (own) return own.call(bytes, { alphabet: "base64url", omitPadding: true });
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
