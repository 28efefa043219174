/**
 * Server-rendered pages: no front-end build, no JavaScript needed (the one script, which
 * auto-submits a form_post response, has a <noscript> button beside it). Values are escaped
 * by hono/html. The Content-Security-Policy admits only the hashed inline style and script.
 */
import { createHash } from 'node:crypto'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { Reply } from '../http/reply.ts'

type Html = HtmlEscapedString | Promise<HtmlEscapedString>

const STYLE = `
*,*::before,*::after{box-sizing:border-box}
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5;--accent:#2456c8;--line:color-mix(in srgb,CanvasText 22%,Canvas)}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem;background:Canvas;color:CanvasText}
main{width:100%;max-width:26rem;padding:clamp(1.25rem,5vw,2rem);border:1px solid var(--line);border-radius:.75rem;overflow-wrap:anywhere}
main.wide{max-width:44rem}
h1{font-size:1.4rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1.1rem;margin:1.75rem 0 .25rem}
p{margin:.5rem 0}
label{display:block;margin-top:1rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem;font:inherit;margin-top:.25rem;border:1px solid GrayText;border-radius:.4rem}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;cursor:pointer;border:1px solid GrayText;border-radius:.4rem;background:Canvas;color:CanvasText}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
form.wide-button button,.actions button{width:100%}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
.actions form{flex:1 1 8rem}.actions button{margin-top:0}
.error{border-left:4px solid #c00;padding:.5rem .75rem;background:color-mix(in srgb,#c00 10%,Canvas)}
.notice{border-left:4px solid var(--accent);padding:.5rem .75rem;background:color-mix(in srgb,var(--accent) 10%,Canvas)}
.muted{color:GrayText;font-size:.9rem}
ul.scopes{padding-left:1.2rem;margin:.25rem 0}
ul.cards{list-style:none;padding:0;margin:0}
ul.cards>li{border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;margin-top:.75rem}
ul.cards>li p{margin:.15rem 0}
ul.cards button{margin-top:.5rem;padding:.35rem .9rem}
.badge{display:inline-block;font-size:.8rem;font-weight:600;padding:0 .5rem;margin-left:.25rem;border-radius:1rem;background:color-mix(in srgb,var(--accent) 22%,Canvas)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
code{overflow-wrap:anywhere}
:focus-visible{outline:3px solid Highlight;outline-offset:2px}
`.trim()

export const AUTO_SUBMIT_SCRIPT = 'document.forms[0].submit()'

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`
const STYLE_HASH = sha256(STYLE)
const SCRIPT_HASH = sha256(AUTO_SUBMIT_SCRIPT)

export interface PageOptions {
  readonly status?: 200 | 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503
  /**
   * Where the page's forms may go besides this origin: a form_post redirect URI, or where a
   * submission's redirects end (browsers apply form-action to those redirects too).
   */
  readonly formAction?: string | undefined
  readonly script?: boolean
  readonly headers?: Record<string, string>
  /** A page of lists (the account page) rather than one form: a wider column. */
  readonly wide?: boolean
}

/** A complete page as text, with the security headers every page carries. */
export function renderPage(
  title: string,
  body: Html,
  options: PageOptions = {},
): { body: string; headers: Record<string, string> } {
  const formAction = options.formAction ? `'self' ${new URL(options.formAction).origin}` : "'self'"
  const csp = [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    ...(options.script ? [`script-src ${SCRIPT_HASH}`] : []),
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ')
  const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<main${options.wide ? raw(' class="wide"') : ''}>
${body}
</main>
</body>
</html>`
  return {
    body: String(document),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the
      // pages' own form posts, which the CSRF check must refuse.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
      ...options.headers,
    },
  }
}

/** A page in the shared layout, as a reply. */
export function page(title: string, body: Html, options: PageOptions = {}): Reply {
  const rendered = renderPage(title, body, options)
  return { status: options.status ?? 200, body: rendered.body, headers: rendered.headers }
}

/** An error shown to the person, never sent to a redirect URI. */
export function errorPage(status: PageOptions['status'], title: string, detail: string): Reply {
  return page(title, errorBody(title, detail), { status: status ?? 400 })
}

export function errorBody(title: string, detail: string): Html {
  return html`<h1>${title}</h1>
<p class="error" role="alert">${detail}</p>`
}
