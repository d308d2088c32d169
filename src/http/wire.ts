/**
 * Bulk response bodies assembled from per-result JSON fragments. evaluateAll hands out the snapshot's
 * shared, frozen results, so each result's fragment and its hash are built once per isolate and a
 * request only joins strings; the ETag combines the fragment hashes instead of hashing the whole body,
 * and a 304 builds no body at all. Pure, no I/O.
 */
import { murmur3Utf8 } from "../eval/bucket";
import { finalize, mixBlock } from "../eval/murmur";
import type { EvaluationResult } from "../eval/types";

/** The three bulk forms: GET /v1/flags compact and with details, and OFREP bulk. */
export type BodyForm = "compact" | "details" | "ofrep";

interface Fragment {
  /** JSON text of this result in the body (for compact, `"key":value`), or "" when left out. */
  text: string;
  hash: number;
}

const FORMS: Record<BodyForm, number> = { compact: 1, details: 2, ofrep: 3 };
// Keyed by the result object itself: entries go with the snapshot that owns the results.
const caches: Record<BodyForm, WeakMap<EvaluationResult, Fragment>> = {
  compact: new WeakMap(),
  details: new WeakMap(),
  ofrep: new WeakMap(),
};

/** The compact wire form of one result for /v1 routes. */
export function detailsOf(r: EvaluationResult): Record<string, unknown> {
  const out: Record<string, unknown> = { value: r.value, variant: r.variant, reason: r.reason };
  if (r.ruleId !== undefined) out.ruleId = r.ruleId;
  if (r.errorCode !== undefined) out.errorCode = r.errorCode;
  return out;
}

/** One result in OFREP's wire form: a success or an evaluation failure. */
export function toOfrep(r: EvaluationResult): Record<string, unknown> {
  if (r.errorCode !== undefined) {
    return { key: r.key, errorCode: r.errorCode, errorDetails: r.errorMessage ?? r.errorCode };
  }
  return { key: r.key, value: r.value, reason: r.reason, variant: r.variant };
}

function fragmentText(form: BodyForm, r: EvaluationResult): string {
  if (form === "ofrep") return JSON.stringify(toOfrep(r));
  // A flag that could not be evaluated is left out of /v1: the front-end uses its code default.
  if (r.errorCode !== undefined) return "";
  return `${JSON.stringify(r.key)}:${JSON.stringify(form === "details" ? detailsOf(r) : r.value)}`;
}

function fragmentOf(form: BodyForm, r: EvaluationResult, reuse: boolean): Fragment {
  const cache = reuse ? caches[form] : undefined;
  let f = cache?.get(r);
  if (f === undefined) {
    const text = fragmentText(form, r);
    f = { text, hash: murmur3Utf8(text) };
    cache?.set(r, f);
  }
  return f;
}

/** A bulk body, built only when it is sent. */
export interface BulkBody {
  /** Strong ETag: a function of the version and of every fragment, in order. */
  etag: string;
  /** The JSON text, given the envelope's other members (already JSON). */
  text(): string;
}

/**
 * The body for `results` in `form`: for compact/details `{"version":V,"flags":{...}}`, for OFREP
 * `{"flags":[...],"metadata":M...}` (`metadata` is the JSON text of OFREP's metadata object, `more`
 * further members, each with its leading comma). `reuse: false` for results no later request will
 * see again (the first-answer reader makes new ones per call): their fragments are not kept.
 */
export function bulkBody(
  form: BodyForm,
  results: readonly EvaluationResult[],
  version: number,
  { metadata = "", more = "", reuse = true }: { metadata?: string; more?: string; reuse?: boolean } = {},
): BulkBody {
  const n = results.length;
  const fragments = new Array<Fragment>(n);
  let h = FORMS[form];
  let count = 0;
  for (let i = 0; i < n; i++) {
    const f = fragmentOf(form, results[i]!, reuse);
    fragments[i] = f;
    if (f.text !== "") {
      h = mixBlock(h, f.hash);
      count++;
    }
  }
  h = finalize(h, count);
  return {
    etag: `"${version}-${h.toString(36)}"`,
    text() {
      let items = "";
      let first = true;
      for (const f of fragments) {
        if (f.text === "") continue;
        items = first ? f.text : `${items},${f.text}`;
        first = false;
      }
      return form === "ofrep"
        ? `{"flags":[${items}],"metadata":${metadata}${more}}`
        : `{"version":${version},"flags":{${items}}}`;
    },
  };
}
