/** The pages a person sees: sign in, consent, their account, logout. */
import { html } from 'hono/html'
import type { Session } from '../db/sessions.ts'
import type { Reply } from '../http/reply.ts'
import type { AuthorizationDetail } from '../oidc/authorization-request.ts'
import type { Organization } from '../tenancy.ts'
import type { Device } from './device.ts'
import { page } from './layout.ts'

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and profile details',
  email: 'See your email address',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Keep access while you are not signed in',
}

export function describeScope(scope: string): string {
  return SCOPE_TEXT[scope] ?? `Use "${scope}"`
}

export interface LoginPageInput {
  readonly org: Organization
  readonly csrf: string
  readonly interaction?: string | undefined
  readonly clientName?: string | undefined
  readonly email?: string | undefined
  readonly error?: string | undefined
  readonly status?: 200 | 400 | 401 | 429
  readonly retryAfter?: number | undefined
  /** The client's redirect URI, where a successful sign-in may end up. */
  readonly redirectUri?: string | undefined
}

export function loginPage(input: LoginPageInput): Reply {
  const headers: Record<string, string> = input.retryAfter ? { 'retry-after': String(input.retryAfter) } : {}
  return page(
    `Sign in — ${input.org.name}`,
    html`<h1>Sign in to ${input.org.name}</h1>
${input.clientName ? html`<p>to continue to <strong>${input.clientName}</strong></p>` : ''}
${input.error ? html`<p class="error" role="alert" id="login-error">${input.error}</p>` : ''}
<form method="post" action="${input.org.issuer}/auth/login" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
${input.interaction ? html`<input type="hidden" name="interaction" value="${input.interaction}">` : ''}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${input.email ?? ''}"${input.error ? html` aria-describedby="login-error"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Sign in</button>
</form>`,
    { status: input.status ?? 200, headers, formAction: input.redirectUri },
  )
}

export interface ConsentPageInput {
  readonly org: Organization
  readonly csrf: string
  readonly interaction: string
  readonly clientName: string
  readonly userEmail: string
  readonly scopes: readonly string[]
  readonly authorizationDetails?: readonly AuthorizationDetail[] | undefined
  readonly redirectUri: string
  /** Registered through RFC 7591 by anyone: its name is its own claim. */
  readonly selfRegistered: boolean
}

export function consentPage(input: ConsentPageInput): Reply {
  // RFC 7591 §5: a self-registered client's name is unverified, so the page says so and shows
  // where the answer goes, which a look-alike name cannot change.
  const destination = new URL(input.redirectUri).host
  return page(
    `Allow ${input.clientName}?`,
    html`<h1>${input.clientName} wants to access your account</h1>
<p class="muted">Signed in as ${input.userEmail}</p>
${
  input.selfRegistered
    ? html`<p class="error" role="note">This application registered itself with ${input.org.name}, which has not reviewed it: its name is its own claim. Allow it only if you trust <strong>${destination}</strong>.</p>`
    : ''
}
<p>After you answer, you go back to <strong>${destination}</strong>.</p>
${input.scopes.length ? html`<p>It asks to:</p><ul class="scopes">${input.scopes.map((s) => html`<li>${describeScope(s)}</li>`)}</ul>` : ''}
${
  input.authorizationDetails?.length
    ? html`<p>And for these specific permissions:</p>
<ul class="scopes" aria-label="Requested permissions">${input.authorizationDetails.map(
        (d) =>
          html`<li><strong>${d.type}</strong>${
            Array.isArray(d.actions) ? html`: ${(d.actions as string[]).join(', ')}` : ''
          }${Array.isArray(d.locations) ? html` at ${(d.locations as string[]).join(', ')}` : ''}<br><code>${JSON.stringify(d)}</code></li>`,
      )}</ul>`
    : ''
}
<form method="post" action="${input.org.issuer}/auth/consent">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="interaction" value="${input.interaction}">
<div class="actions">
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
    { formAction: input.redirectUri },
  )
}

export interface AccountPageInput {
  readonly org: Organization
  readonly csrf: string
  readonly email: string
  readonly currentSessionId: string
  readonly sessions: readonly (Session & { readonly device: Device })[]
  readonly apps: readonly { clientId: string; name: string; scope: readonly string[] }[]
  readonly notice?: string | undefined
  /** For "last active 3 minutes ago". */
  readonly now: Date
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
})

/** "5 Dec 2026, 08:30 UTC": the server does not know the reader's time zone, so it says which. */
export function formatTime(at: Date): string {
  return `${DATE_TIME.format(at)} UTC`
}

/** "just now", "3 minutes ago", "2 hours ago", "4 days ago". */
export function formatAgo(at: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - at.getTime()) / 60_000)
  const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`
  if (minutes < 1) return 'just now'
  if (minutes < 60) return count(minutes, 'minute')
  if (minutes < 48 * 60) return count(Math.floor(minutes / 60), 'hour')
  return count(Math.floor(minutes / 1440), 'day')
}

export function accountPage(input: AccountPageInput): Reply {
  const { org } = input
  /** A one-button form; `context` completes the button's name for screen readers. */
  const button = (
    action: string,
    fields: Record<string, string>,
    label: string,
    context: string,
    primary = false,
  ) => html`<form method="post" action="${org.issuer}/auth/account">
<input type="hidden" name="csrf" value="${input.csrf}"><input type="hidden" name="action" value="${action}">
${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit"${primary ? html` class="primary"` : ''}>${label}${context ? html`<span class="visually-hidden"> ${context}</span>` : ''}</button></form>`
  const others = input.sessions.filter((s) => s.id !== input.currentSessionId)
  const current = input.sessions.filter((s) => s.id === input.currentSessionId)
  return page(
    `Your account — ${org.name}`,
    html`<h1>Your account</h1>
<p>Signed in to ${org.name} as <strong>${input.email}</strong></p>
${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
<h2 id="sessions">Where you are signed in</h2>
<ul class="cards" aria-labelledby="sessions">${[...current, ...others].map((s) => {
      const started = formatTime(s.createdAt)
      const isCurrent = s.id === input.currentSessionId
      return html`<li>
<p><strong>${s.device.label}</strong>${isCurrent ? html`<span class="badge">This device</span>` : ''}</p>
<p class="muted">Signed in <time datetime="${s.createdAt.toISOString()}">${started}</time> · last active <time datetime="${s.lastSeenAt.toISOString()}" title="${formatTime(s.lastSeenAt)}">${formatAgo(s.lastSeenAt, input.now)}</time>${s.ip ? html` · from ${s.ip}` : ''}</p>
${isCurrent ? '' : button('end-session', { session: s.id }, 'Sign out of this session', `on ${s.device.label}, signed in ${started}`)}
</li>`
    })}</ul>
${others.length > 1 ? button('end-other-sessions', {}, 'Sign out of all other sessions', `(${others.length})`) : ''}
<h2 id="apps">Applications with access</h2>
${
  input.apps.length
    ? html`<ul class="cards" aria-labelledby="apps">${input.apps.map(
        (a) => html`<li><p><strong>${a.name}</strong> can:</p>
<ul class="scopes">${a.scope.map((s) => html`<li>${describeScope(s)}</li>`)}</ul>
${button('revoke-consent', { client_id: a.clientId }, 'Remove access', `of ${a.name}`)}</li>`,
      )}</ul>`
    : html`<p class="muted">No application has access to your account.</p>`
}
<div class="actions">${button('sign-out', {}, 'Sign out', '', true)}</div>`,
    { wide: true },
  )
}

export function loggedOutPage(org: Organization): Reply {
  return page('Signed out', html`<h1>You are signed out</h1><p>You have signed out of ${org.name}.</p>`)
}

export function logoutConfirmPage(
  org: Organization,
  csrf: string,
  fields: Record<string, string | undefined>,
): Reply {
  return page(
    'Sign out?',
    html`<h1>Sign out of ${org.name}?</h1>
<form method="post" action="${org.issuer}/oauth/logout">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="confirm" value="yes">
${Object.entries(fields)
  .filter(([, v]) => v !== undefined)
  .map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit" class="primary">Sign out</button>
</form>`,
    { formAction: fields.post_logout_redirect_uri },
  )
}
