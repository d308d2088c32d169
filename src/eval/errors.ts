/**
 * The one exception the engine raises: a document that cannot be compiled. Evaluation never throws.
 * Pure, no I/O.
 */

/** Stable codes of compile failures; tests and callers match on these, not on messages. */
export type CompileErrorCode =
  | "UNKNOWN_VARIANT"
  | "UNKNOWN_SEGMENT"
  | "UNKNOWN_PREREQUISITE"
  | "PREREQUISITE_CYCLE"
  | "UNKNOWN_OPERATOR"
  | "INVALID_VALUES"
  | "INVALID_ATTRIBUTE"
  | "INVALID_REGEX"
  | "UNSAFE_REGEX"
  | "INVALID_DATE"
  | "INVALID_SEMVER"
  | "INVALID_TIMEZONE"
  | "INVALID_WINDOW"
  | "INVALID_SPLIT"
  | "INVALID_TYPE";

/** A structurally impossible document (one that validateDocument should have refused). */
export class CompileError extends Error {
  override readonly name = "CompileError";
  readonly code: CompileErrorCode;
  /** Where in the document, e.g. `flags.checkout.rules[2].when[0]`. */
  readonly path: string;

  constructor(code: CompileErrorCode, path: string, message: string) {
    super(`${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}
