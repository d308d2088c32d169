/**
 * The path gates are matched against, read the way lenient origins read it, and the refusal of paths
 * that origins read in incompatible ways (one sees `/checkout`, another `/x/..%2Fcheckout`). Pure, no I/O.
 */

/** Why a path was refused before gate matching (a closed set: logged and sent in the decision header). */
export type PathRefusal =
  /** `%2F` or `%5C`: a slash to origins that decode it, a plain character to the rest. */
  | "encoded-slash"
  /** `\`, or a character NFKC turns into one: a slash to Windows-style origins. */
  | "backslash"
  /** `%25` followed by an escape: a second decoding pass would see a different path. */
  | "double-encoding"
  /** `%00`-`%1F` or `%7F`: C origins end the path at a NUL; nothing legitimate sends them. */
  | "control-character"
  /** `%` without two hex digits (such as IIS's `%u002f`), or escapes that are not UTF-8 (overlong `%C0%AF`). */
  | "bad-escape"
  /** A segment of dots left after decoding (`..;/`, fullwidth `．．`, `...`): only some origins resolve it. */
  | "dot-segment";

export type GatePath = { path: string; refused?: undefined } | { path?: undefined; refused: PathRefusal };

// URL parsing has already resolved literal and `%2e` dot segments, turned `\` into `/` and encoded
// spaces, controls and non-ASCII; a path without these characters is already what gates see.
const NEEDS_WORK = /[%\\;]|\/\/|[.](?:\/|$)/;
const HEX = /^[0-9A-Fa-f]{2}$/;
const DOUBLE = /^[0-9A-Fa-f]{2}|^[uU]/;
const DOTS_AND_SPACES = /^[. ]+$/;
const TRAILING_DOTS_AND_SPACES = /[. ]+$/;

/**
 * The path gates see for a URL's pathname (as `new URL()` serialises it), or why it is refused.
 * Ambiguous encodings are refused (see `PathRefusal`); the rest is normalised towards the most lenient
 * origin: everything percent-decoded, NFKC-normalised (fullwidth `ｃ` is `c`), `;` path parameters
 * dropped from each segment (Tomcat, Spring, Jetty), trailing dots and spaces dropped (Windows), runs of
 * `/` collapsed: a gate catches every spelling a lenient origin serves as the gated path. The origin
 * still receives the path exactly as sent.
 */
export function gatePath(pathname: string): GatePath {
  if (!NEEDS_WORK.test(pathname)) return { path: pathname };
  if (pathname.includes("\\")) return { refused: "backslash" };
  let path = pathname;
  if (path.includes("%")) {
    for (let i = path.indexOf("%"); i >= 0; i = path.indexOf("%", i + 1)) {
      const hex = path.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return { refused: "bad-escape" };
      const byte = Number.parseInt(hex, 16);
      if (byte === 0x2f || byte === 0x5c) return { refused: "encoded-slash" };
      if (byte < 0x20 || byte === 0x7f) return { refused: "control-character" };
      if (byte === 0x25 && DOUBLE.test(path.slice(i + 3, i + 5))) return { refused: "double-encoding" };
    }
    try {
      path = decodeURIComponent(path);
    } catch {
      return { refused: "bad-escape" };
    }
  }
  // Only non-ASCII can change under NFKC; what it may turn into (`\`, `/`, `.`, `%`) is checked below.
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) > 0x7f) {
      const folded = path.normalize("NFKC");
      if (folded !== path) {
        if (folded.includes("\\")) return { refused: "backslash" };
        if (/%[0-9A-Fa-f]{2}/.test(folded)) return { refused: "double-encoding" };
        path = folded;
      }
      break;
    }
  }
  const segments = path.split("/");
  for (let i = 0; i < segments.length; i++) {
    let segment = segments[i]!;
    const semicolon = segment.indexOf(";");
    if (semicolon >= 0) segment = segment.slice(0, semicolon);
    // `..;x`, `. .`, `...`: a dot segment to some origin once parameters or trailing dots go.
    if (DOTS_AND_SPACES.test(segment) && segment.includes(".")) return { refused: "dot-segment" };
    segments[i] = segment.replace(TRAILING_DOTS_AND_SPACES, "");
  }
  return { path: segments.join("/").replace(/\/{2,}/g, "/") };
}
