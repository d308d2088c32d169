/**
 * The flag page's "Explain" section: a form asking why a given visitor gets which variant (a
 * targeting key, the location as the edge would see it (country, region, continent), attributes as JSON, and optionally a past
 * moment), and the answer page: the result, then every evaluation step with ✓ / ✗ and the values
 * read, in the same words as `edgeflags explain` (src/explain/lines.ts). Pure.
 */
import { html } from "hono/html";
import { describeResult, show, type TraceLine, traceLines } from "../explain/lines";
import type { FlagTrace } from "../explain/trace";
import type { Html } from "./layout";

/** What the form was filled with (echoed back into it with the answer). */
export interface ExplainFields {
  targetingKey: string;
  country: string;
  /** The subdivision code, `NY` (or `US-NY`). */
  region: string;
  continent: string;
  attributes: string;
  at: string;
}

export const NO_FIELDS: ExplainFields = {
  targetingKey: "",
  country: "",
  region: "",
  continent: "",
  attributes: "",
  at: "",
};

/** The section, posting to `action` (the flag page's `/explain`). */
export function explainSection(action: string, key: string, f: ExplainFields = NO_FIELDS): Html {
  return html`<section aria-labelledby="explain-h" class="explain">
<h2 id="explain-h">Explain</h2>
<p class="muted">Why would a given visitor get which variant of <code>${key}</code>?</p>
<form class="stack" method="post" action="${action}">
<div><label for="ex-key">Targeting key</label><input id="ex-key" name="targetingKey" autocomplete="off" maxlength="256" placeholder="user-1" value="${f.targetingKey}"></div>
<div><label for="ex-country">Country <span class="hint">(two letters, as the edge sees it)</span></label><input id="ex-country" name="country" autocomplete="off" maxlength="2" pattern="[A-Za-z]{2}" placeholder="DE" value="${f.country}"></div>
<div><label for="ex-region">Region <span class="hint">(optional: the subdivision code, like NY)</span></label><input id="ex-region" name="region" autocomplete="off" maxlength="6" placeholder="NY" value="${f.region}"></div>
<div><label for="ex-continent">Continent <span class="hint">(optional: AF, AN, AS, EU, NA, OC or SA)</span></label><input id="ex-continent" name="continent" autocomplete="off" maxlength="2" pattern="[A-Za-z]{2}" placeholder="EU" value="${f.continent}"></div>
<div><label for="ex-attrs">Attributes <span class="hint">(JSON object)</span></label><textarea id="ex-attrs" name="attributes" rows="3" spellcheck="false" placeholder='{"plan": "pro"}'>${f.attributes}</textarea></div>
<div><label for="ex-at">At <span class="hint">(optional: an ISO time, to use the version live then)</span></label><input id="ex-at" name="at" autocomplete="off" maxlength="40" placeholder="2026-11-27T08:00:00Z" value="${f.at}"></div>
<button class="primary" type="submit">Explain</button>
</form>
</section>`;
}

/** One step line: its mark (with words for screen readers) and text, indented by depth. */
function stepLine(l: TraceLine): Html {
  const mark =
    l.mark === undefined
      ? ""
      : l.mark
        ? html`<span class="mk yes" aria-hidden="true">✓</span><span class="sr">holds: </span>`
        : html`<span class="mk no" aria-hidden="true">✗</span><span class="sr">does not hold: </span>`;
  const depth = Math.min(l.depth, 8);
  return l.error
    ? html`<li class="d${depth}"><strong>error</strong>: ${l.text}</li>`
    : html`<li class="d${depth}">${mark}${l.text}</li>`;
}

export interface ExplainAnswer {
  trace: FlagTrace;
  version: number;
  /** `current`, or `history` when `at` chose a past version. */
  snapshot: "current" | "history";
  at: string;
  context: string;
}

/** The answer page: the result, the steps, and the form again to try another visitor. */
export function explainPage(
  back: string,
  action: string,
  key: string,
  fields: ExplainFields,
  answer: ExplainAnswer | { problem: string },
): Html {
  const body =
    "problem" in answer
      ? html`<p class="error" role="alert">${answer.problem}</p>`
      : html`<section aria-labelledby="result-h">
<h2 id="result-h">Result</h2>
<p><code>${key}</code> = <code>${show(answer.trace.result.value)}</code> <span class="badge">${describeResult(answer.trace)}</span></p>
<p class="muted">Version ${answer.version} (${answer.snapshot === "current" ? "live now" : "the version live then"}), evaluated at ${answer.at}, for ${answer.context}.</p>
<ol class="trace">${traceLines(answer.trace).map(stepLine)}</ol>
</section>`;
  return html`<p><a href="${back}">← ${key}</a></p>
<h1>Explain <code>${key}</code></h1>
${body}
${explainSection(action, key, fields)}`;
}
