/** The pages a person sees: sign in, consent, their account, logout. */
import type { Context } from 'hono'
import { html } from 'hono/html'
import type { Session } from '../db/sessions.ts'
import type { AuthorizationDetail } from '../oidc/authorization-request.ts'
import type { Organization } from '../tenancy.ts'
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

export function loginPage(c: Context, input: LoginPageInput): Response {
  const headers: Record<string, string> = input.retryAfter ? { 'retry-after': String(input.retryAfter) } : {}
  return page(
    c,
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
<button type="submit">Sign in</button>
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

export function consentPage(c: Context, input: ConsentPageInput): Response {
  // RFC 7591 §5: a self-registered client's name is unverified, so the page says so and shows
  // where the answer goes, which a look-alike name cannot change.
  const destination = new URL(input.redirectUri).host
  return page(
    c,
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
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
    { formAction: input.redirectUri },
  )
}

export interface AccountPageInput {
  readonly org: Organization
  readonly csrf: string
  readonly email: string
  readonly currentSessionId: string
  readonly sessions: readonly Session[]
  readonly apps: readonly { clientId: string; name: string; scope: readonly string[] }[]
  readonly notice?: string | undefined
}

export function accountPage(c: Context, input: AccountPageInput): Response {
  const form = (
    action: string,
    name: string,
    value: string,
    label: string,
  ) => html`<form method="post" action="${input.org.issuer}/auth/account">
<input type="hidden" name="csrf" value="${input.csrf}"><input type="hidden" name="action" value="${action}">
<input type="hidden" name="${name}" value="${value}"><button type="submit">${label}</button></form>`
  return page(
    c,
    `Your account — ${input.org.name}`,
    html`<h1>Your account</h1>
<p>Signed in as <strong>${input.email}</strong></p>
${input.notice ? html`<p role="status">${input.notice}</p>` : ''}
<h2>Sessions</h2>
<table><thead><tr><th scope="col">Started</th><th scope="col">Last seen</th><th scope="col">From</th><th scope="col"></th></tr></thead>
<tbody>${input.sessions.map(
      (
        s,
      ) => html`<tr><td>${s.createdAt.toISOString()}</td><td>${s.lastSeenAt.toISOString()}</td><td>${s.ip ?? ''} ${s.userAgent ?? ''}</td>
<td>${s.id === input.currentSessionId ? html`this session` : form('end-session', 'session', s.id, 'End')}</td></tr>`,
    )}</tbody></table>
<h2>Applications with access</h2>
${
  input.apps.length
    ? html`<ul>${input.apps.map((a) => html`<li>${a.name} (${a.scope.join(' ')}) ${form('revoke-consent', 'client_id', a.clientId, 'Revoke')}</li>`)}</ul>`
    : html`<p class="muted">None.</p>`
}
${form('sign-out', 'all', 'no', 'Sign out')}`,
  )
}

export function loggedOutPage(c: Context, org: Organization): Response {
  return page(c, 'Signed out', html`<h1>You are signed out</h1><p>You have signed out of ${org.name}.</p>`)
}

export function logoutConfirmPage(
  c: Context,
  org: Organization,
  csrf: string,
  fields: Record<string, string | undefined>,
): Response {
  return page(
    c,
    'Sign out?',
    html`<h1>Sign out of ${org.name}?</h1>
<form method="post" action="${org.issuer}/oauth/logout">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="confirm" value="yes">
${Object.entries(fields)
  .filter(([, v]) => v !== undefined)
  .map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit">Sign out</button>
</form>`,
    { formAction: fields.post_logout_redirect_uri },
  )
}
