/**
 * The sign-in page: one password field for the publish token or CONSOLE_TOKEN, posted to
 * `/console/login` (never put in a URL), with the reason a previous attempt failed. Pure.
 */
import { html } from "hono/html";
import type { Html } from "./layout";

export function loginPage(base: string, problem?: string, next?: string): Html {
  return html`<h1>Sign in</h1>
${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}
<section><form class="stack" method="post" action="${base}/login">
<div><label for="token">Console token <span class="hint">(CONSOLE_TOKEN, or the publish token)</span></label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus maxlength="512"></div>
${next ? html`<input type="hidden" name="next" value="${next}">` : ""}
<button class="primary" type="submit">Sign in</button>
<p class="hint">The console is read-only: it shows the live flags, their history and counts, and the commands to change them. Sessions last 12 hours.</p>
</form></section>`;
}
