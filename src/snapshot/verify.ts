/**
 * Decides whether a snapshot may be trusted: algorithm allow-list, `typ` and `kid` before any crypto,
 * then the signature, then payload shape, environment, version and expiry, then the flags' schema and
 * compile. Pure apart from WebCrypto; `now` is passed in.
 *
 * The signature is checked with WebCrypto directly over the JWS signing input (src/snapshot/jws.ts),
 * once the header has passed the checks above, and the payload is decoded once. No JWS extension is
 * supported, so a header with `crit` is refused.
 *
 * The schema check here is src/flags/schema.ts compiled to plain code (shape.generated.ts): it refuses
 * every document the schema refuses, without valibot in the worker. What evaluation depends on beyond
 * shape (references, cycles, types, splits, regexes, dates, time zones, gate patterns) is refused by
 * compile. The publisher's own checks (validateDocument: the same schema, plus authoring checks with
 * friendly messages) have already run on anything a trusted key signed.
 */
import { compileInSlices } from "../eval/compile";
import { type FirstReader, prepareFirst } from "../eval/first";
import { type CompiledFlags, compile } from "../eval/index";
import { isMap } from "../flags/json-value";
import { checkShape } from "../flags/shape.generated";
import type { FlagsDocument, GateDefinition } from "../flags/types";
import { isApprovalGroup } from "../policy/approvals";
import { checkCoverage, type Sticky } from "../policy/check";
import * as base64url from "./base64url";
import { SnapshotError } from "./errors";
import { SNAPSHOT_FORMAT, SNAPSHOT_TYP, type SnapshotPayload } from "./format";
import { compactParts, compactSignatureVerifies, decodeHeader } from "./jws";
import { isSnapshotAlgorithm, type KeyRing } from "./keys";

export interface VerifyOptions {
  keys: KeyRing;
  /** The environment this worker serves. */
  environment: string;
  /** Version already served, if any: an older snapshot is refused. */
  minVersion?: number;
  /** Refuse equal versions too (the intake wants strictly newer). */
  strictlyNewer?: boolean;
  /** Epoch milliseconds, for the expiry check. */
  now: number;
  /** Largest accepted JWS, in bytes (characters; compact JWS is ASCII). */
  maxBytes?: number;
  /**
   * A cold load (nothing served yet): when the first-answer reader takes the document
   * (src/eval/first.ts), which it does only for a document compile accepts, compile waits until
   * `compiled` is first read, and the first answers come from `first` instead.
   */
  deferCompile?: boolean;
  /**
   * With a policy (`keys.policy`): each flag's class when the last trusted snapshot was accepted, so a
   * snapshot cannot reclassify a flag out of a rule or into a key's scope (src/policy/check.ts).
   */
  sticky?: Sticky;
}

export interface VerifiedSnapshot {
  payload: SnapshotPayload;
  /** Compiled at load, or at its first read when the load deferred it (`deferCompile`). */
  readonly compiled: CompiledFlags;
  /** While a deferred compile has not finished: the reader that answers requests meanwhile. */
  readonly first?: FirstReader;
  /** A deferred compile's next slice (true once compiled); absent when compiled at load. */
  compileSlice?(): boolean;
  kid: string;
  /** The compact JWS as received. */
  jws: string;
}

export const DEFAULT_MAX_SNAPSHOT_BYTES = 5 * 1024 * 1024;

const decoder = new TextDecoder();

/**
 * Verifies and compiles a snapshot (with `deferCompile`, possibly checks it as compile would and
 * compiles it later), or throws a `SnapshotError` with a stable code.
 */
export async function verifySnapshot(jws: string, options: VerifyOptions): Promise<VerifiedSnapshot> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
  if (jws.length > maxBytes) {
    throw new SnapshotError(
      "ERR_SNAPSHOT_TOO_LARGE",
      `snapshot is ${jws.length} bytes; the limit is ${maxBytes}`,
    );
  }
  const parts = compactParts(jws);
  const header = parts && decodeHeader(parts[0]);
  if (parts === undefined || header === undefined) {
    throw new SnapshotError("ERR_SNAPSHOT_MALFORMED", "snapshot is not a compact JWS");
  }
  if (!isSnapshotAlgorithm(header.alg)) {
    throw new SnapshotError("ERR_SNAPSHOT_ALG", `algorithm ${String(header.alg)} is not allowed`);
  }
  if (header.typ !== SNAPSHOT_TYP) {
    throw new SnapshotError("ERR_SNAPSHOT_TYP", `typ must be ${SNAPSHOT_TYP}, got ${String(header.typ)}`);
  }
  if (header.crit !== undefined) {
    throw new SnapshotError("ERR_SNAPSHOT_MALFORMED", "snapshot header lists critical extensions (crit)");
  }
  const trusted = typeof header.kid === "string" ? options.keys.get(header.kid) : undefined;
  if (!trusted) {
    throw new SnapshotError("ERR_SNAPSHOT_KID_UNKNOWN", `no trusted key has kid ${String(header.kid)}`);
  }
  if (trusted.alg !== header.alg) {
    throw new SnapshotError(
      "ERR_SNAPSHOT_ALG",
      `key ${trusted.kid} is for ${trusted.alg}, not ${header.alg}`,
    );
  }

  if (!(await compactSignatureVerifies(trusted, jws, parts))) {
    throw new SnapshotError("ERR_SNAPSHOT_SIGNATURE", "snapshot signature does not verify");
  }
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(parts[1]);
  } catch (cause) {
    throw new SnapshotError("ERR_SNAPSHOT_PAYLOAD", "snapshot payload is not base64url", { cause });
  }

  let payload: unknown;
  try {
    payload = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new SnapshotError("ERR_SNAPSHOT_PAYLOAD", "snapshot payload is not JSON", { cause });
  }
  const p = checkPayloadShape(payload);

  if (p.environment !== options.environment) {
    throw new SnapshotError(
      "ERR_SNAPSHOT_ENV",
      `snapshot is for environment ${p.environment}, this worker serves ${options.environment}`,
    );
  }
  if (options.minVersion !== undefined) checkVersion(p.version, options.minVersion, options.strictlyNewer);
  if (p.expiresAt !== undefined && Date.parse(p.expiresAt) <= options.now) {
    throw new SnapshotError("ERR_SNAPSHOT_EXPIRED", `snapshot expired at ${p.expiresAt}`);
  }

  const problem = checkShape(p.flags);
  if (problem) {
    const where = problem.path.length > 0 ? problem.path.join(".") : "the flags document";
    throw new SnapshotError(
      "ERR_SNAPSHOT_SCHEMA",
      `snapshot flags do not match the schema: ${where}: expected ${problem.expected}`,
    );
  }
  const flags = p.flags as unknown as FlagsDocument;
  // A document the reader takes compiles: its compile may wait.
  const reader = options.deferCompile ? prepareFirst(flags) : undefined;
  let compiled: CompiledFlags | undefined;
  try {
    if (reader === undefined) compiled = compile(flags);
    checkGates(flags);
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    throw new SnapshotError("ERR_SNAPSHOT_SCHEMA", `snapshot flags do not compile${detail}`, { cause });
  }
  const policy = options.keys.policy;
  if (policy) {
    const report = await checkCoverage({
      doc: flags,
      environment: p.environment,
      signer: trusted.kid,
      groups: p.approvals ?? [],
      breakGlassReason: p.audit?.breakGlass?.reason,
      policy,
      keys: options.keys,
      sticky: options.sticky,
    });
    if (!report.ok) {
      const shown = report.problems.slice(0, 5);
      const more =
        report.problems.length > shown.length ? ` (and ${report.problems.length - shown.length} more)` : "";
      throw new SnapshotError(
        "ERR_SNAPSHOT_POLICY",
        `snapshot refused by the trust policy: ${shown.join("; ")}${more}`,
      );
    }
  }
  if (compiled !== undefined) return { payload: p, compiled, kid: trusted.kid, jws };
  // Deferred: compiled a slice at a time between requests (compileSlice), or all at once when read.
  const slices = compileInSlices(flags, COMPILE_SLICE);
  let broken: unknown;
  const step = (): void => {
    if (broken !== undefined) throw broken;
    try {
      const s = slices.next();
      if (s.done) compiled = s.value;
    } catch (err) {
      broken = err;
      throw err;
    }
  };
  return {
    payload: p,
    kid: trusted.kid,
    jws,
    get compiled() {
      while (compiled === undefined) step();
      return compiled;
    },
    get first() {
      return compiled === undefined ? reader : undefined;
    },
    compileSlice() {
      if (compiled === undefined) step();
      return compiled !== undefined;
    },
  };
}

/** Flags compiled per slice of a deferred compile: ~3-4 ms on a fresh isolate's cold code. */
const COMPILE_SLICE = 100;

/**
 * The version rule on its own, for a snapshot verified before its floor was known (a cold load checks
 * the KV copy while the beacon is still being read): refuses `version` below `minVersion` (or equal,
 * with `strictlyNewer`) exactly as `verifySnapshot` does.
 */
export function checkVersion(version: number, minVersion: number, strictlyNewer = false): void {
  if (strictlyNewer ? version <= minVersion : version < minVersion) {
    throw new SnapshotError(
      "ERR_SNAPSHOT_ROLLBACK",
      `snapshot version ${version} is not newer than version ${minVersion}`,
    );
  }
}

/**
 * Gates compile at the first gated request, so what would make that fail (a pattern URLPattern
 * refuses, a flag the snapshot does not have) must refuse the snapshot now.
 */
function checkGates(flags: FlagsDocument): void {
  const gates = flags.gates;
  if (!gates?.length) return;
  for (let i = 0; i < gates.length; i++) {
    const { pattern, host, flag } = gates[i] as GateDefinition;
    if (!Object.hasOwn(flags.flags, flag))
      throw new Error(`gates.${i}.flag: no flag ${JSON.stringify(flag)}`);
    try {
      new URLPattern(host === undefined ? { pathname: pattern } : { pathname: pattern, hostname: host });
    } catch {
      throw new Error(`gates.${i}.pattern: ${JSON.stringify(pattern)} is not a valid URLPattern`);
    }
  }
}

/** The envelope fields (not the flags, which `checkShape` and compile check). */
function checkPayloadShape(x: unknown): SnapshotPayload {
  const bad = (what: string) => new SnapshotError("ERR_SNAPSHOT_PAYLOAD", `snapshot payload: ${what}`);
  if (!isMap(x)) throw bad("not an object");
  if (x.format !== SNAPSHOT_FORMAT) throw bad(`unsupported format ${String(x.format)}`);
  if (typeof x.environment !== "string" || x.environment === "") throw bad("environment missing");
  if (typeof x.version !== "number" || !Number.isSafeInteger(x.version) || x.version < 1) {
    throw bad("version must be a positive integer");
  }
  if (typeof x.issuedAt !== "string" || Number.isNaN(Date.parse(x.issuedAt))) throw bad("issuedAt invalid");
  if (
    x.expiresAt !== undefined &&
    (typeof x.expiresAt !== "string" || Number.isNaN(Date.parse(x.expiresAt)))
  ) {
    throw bad("expiresAt invalid");
  }
  if (typeof x.sourceDigest !== "string") throw bad("sourceDigest missing");
  if (!isMap(x.flags)) throw bad("flags missing");
  if (x.approvals !== undefined && !(Array.isArray(x.approvals) && x.approvals.every(isApprovalGroup))) {
    throw bad("approvals invalid");
  }
  if (x.audit !== undefined) checkAuditShape(x.audit, bad);
  return x as unknown as SnapshotPayload;
}

/** The audit block ends up in KV records people read, so its shape is checked like the envelope's. */
function checkAuditShape(a: unknown, bad: (what: string) => SnapshotError): void {
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!isMap(a) || typeof a.actor !== "string") throw bad("audit.actor missing");
  if (a.message !== undefined && typeof a.message !== "string") throw bad("audit.message must be text");
  const c = a.changes;
  if (
    !isMap(c) ||
    !strings(c.added) ||
    !strings(c.removed) ||
    !Array.isArray(c.changed) ||
    !c.changed.every((e) => isMap(e) && typeof e.flag === "string" && strings(e.fields)) ||
    !directedChangesOk(c) ||
    typeof c.text !== "string"
  ) {
    throw bad("audit.changes invalid");
  }
  // Optional, added later: snapshots without them stay valid, and older workers ignore them.
  if (
    a.overrides !== undefined &&
    !(
      Array.isArray(a.overrides) &&
      a.overrides.every(
        (o) => isMap(o) && typeof o.rule === "string" && typeof o.reason === "string" && strings(o.findings),
      )
    )
  ) {
    throw bad("audit.overrides invalid");
  }
  if (
    a.killed !== undefined &&
    !(
      Array.isArray(a.killed) &&
      a.killed.every(
        (k) =>
          isMap(k) &&
          typeof k.flag === "string" &&
          (k.previousEnabled === null || typeof k.previousEnabled === "boolean"),
      )
    )
  ) {
    throw bad("audit.killed invalid");
  }
  if (a.breakGlass !== undefined && !(isMap(a.breakGlass) && typeof a.breakGlass.reason === "string")) {
    throw bad("audit.breakGlass invalid");
  }
}

/**
 * The directions recorded in a change summary (added later: absent in older snapshots, ignored by
 * older workers): when present, lists of `{ path, before?, after?, cut? }` and counts.
 */
function directedChangesOk(c: Record<string, unknown>): boolean {
  const sides = (v: unknown) => Array.isArray(v) && v.every((s) => s === "before" || s === "after");
  const changes = (v: unknown) =>
    v === undefined ||
    (Array.isArray(v) &&
      v.every((x) => isMap(x) && typeof x.path === "string" && (x.cut === undefined || sides(x.cut))));
  const count = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
  const keyed = (v: unknown) =>
    v === undefined ||
    (Array.isArray(v) &&
      v.every((e) => isMap(e) && typeof e.key === "string" && changes(e.changes) && count(e.omitted)));
  // Only the new fields are checked: a snapshot that verified before this check still does.
  const collection = (s: unknown) => !isMap(s) || keyed(s.changes);
  return (
    (c.changed as unknown[]).every((e) => isMap(e) && changes(e.changes) && count(e.omitted)) &&
    collection(c.segments) &&
    collection(c.gates)
  );
}
