/**
 * Authorization responses (RFC 6749 §4.1.2): a 303 redirect with the parameters in the query,
 * or an auto-submitted form (OAuth 2.0 Form Post Response Mode). `iss` is always in them
 * (RFC 9207 §2).
 */
import { html, raw } from 'hono/html'
import { type Reply, redirect } from '../http/reply.ts'
import { AUTO_SUBMIT_SCRIPT, page } from '../pages/layout.ts'
import type { ResponseMode } from './authorization-request.ts'

export function authorizationResponse(
  target: { redirectUri: string; responseMode: ResponseMode },
  params: Record<string, string | undefined>,
): Reply {
  const values = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)
  if (target.responseMode === 'form_post') {
    return page(
      'Continuing…',
      html`<form method="post" action="${target.redirectUri}">
${values.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<noscript><p>JavaScript is off: continue with the button.</p><button type="submit">Continue</button></noscript>
</form>
<script>${raw(AUTO_SUBMIT_SCRIPT)}</script>`,
      { formAction: target.redirectUri, script: true },
    )
  }
  const url = new URL(target.redirectUri)
  for (const [k, v] of values) url.searchParams.append(k, v)
  return redirect(url.href, 303, { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
}
