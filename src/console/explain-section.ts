/**
 * The flag page's "Explain" section: a form asking why a given context gets which variant. Only the
 * form for now: POST /console/flags/:key/explain answers 501 until the explain endpoint is wired in
 * (src/console/routes.ts, `explainHandler`). Its fields are what such a request needs: a targeting
 * key, a country, and attributes as JSON. Pure.
 */
import { html } from "hono/html";
import type { Html } from "./layout";

/** The section, posting to `action` (the flag page's `/explain`). */
export function explainSection(action: string, key: string): Html {
  return html`<section aria-labelledby="explain-h" class="explain">
<h2 id="explain-h">Explain</h2>
<p class="muted">Why would a given visitor get which variant of <code>${key}</code>?</p>
<form class="stack" method="post" action="${action}">
<div><label for="ex-key">Targeting key</label><input id="ex-key" name="targetingKey" autocomplete="off" maxlength="256" placeholder="user-1"></div>
<div><label for="ex-country">Country <span class="hint">(two letters, as the edge sees it)</span></label><input id="ex-country" name="country" autocomplete="off" maxlength="2" pattern="[A-Za-z]{2}" placeholder="DE"></div>
<div><label for="ex-attrs">Attributes <span class="hint">(JSON object)</span></label><textarea id="ex-attrs" name="attributes" rows="3" spellcheck="false" placeholder='{"plan": "pro"}'></textarea></div>
<button class="primary" type="submit">Explain</button>
</form>
</section>`;
}

/** The answer while explain is not available on this worker. */
export function explainUnavailable(back: string): Html {
  return html`<h1>Explain is not available</h1>
<p>This worker cannot explain evaluations yet.</p>
<p><a href="${back}">Back to the flag</a></p>`;
}
