// Shared by the k6 scripts: configuration from the environment, and the admin API calls that
// create what a scenario needs in setup().
//
//   BASE_URL             the auth plane, e.g. https://id.example.com            (required)
//   ADMIN_URL            the admin plane, when it has its own host            (default BASE_URL)
//   ADMIN_CLIENT_ID      an admin API client (bootstrap prints one)           (required)
//   ADMIN_CLIENT_SECRET  its secret                                           (required)
//   VUS, DURATION        load shape                                           (default 50, 30s)
import encoding from 'k6/encoding'
import http from 'k6/http'

/** @param {string} name */
function required(name) {
  const value = __ENV[name]
  if (!value) throw new Error(`set ${name} (see the comment at the top of k6/lib/zenoauth.js)`)
  return value
}

export const BASE_URL = required('BASE_URL').replace(/\/+$/, '')
export const ADMIN_URL = (__ENV.ADMIN_URL || BASE_URL).replace(/\/+$/, '')
export const VUS = Number(__ENV.VUS || 50)
export const DURATION = __ENV.DURATION || '30s'

export const REDIRECT_URI = 'https://rp.k6.test/callback'
// RFC 7636 Appendix B: a PKCE verifier and its S256 challenge.
export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
export const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

/** @param {string} id @param {string} secret */
export function basic(id, secret) {
  return `Basic ${encoding.b64encode(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`
}

export const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/**
 * @param {string} url
 * @param {Record<string, string>} fields
 * @param {Record<string, string>} headers
 * @param {string} name the request's `name` tag, which the thresholds select on
 */
export function postForm(url, fields, headers, name) {
  const body = Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&')
  return http.post(url, body, { headers: { ...FORM, ...headers }, tags: { name } })
}

/**
 * @param {import('k6/http').RefinedResponse<any>} res
 * @param {string} what
 * @param {...number} statuses
 */
export function expectStatus(res, what, ...statuses) {
  if (!statuses.includes(res.status))
    throw new Error(`${what}: ${res.status} ${String(res.body).slice(0, 300)}`)
  return res
}

/** An admin API client for setup() and teardown(). */
export class Admin {
  constructor() {
    const res = postForm(
      `${BASE_URL}/oauth/token`,
      { grant_type: 'client_credentials' },
      { Authorization: basic(required('ADMIN_CLIENT_ID'), required('ADMIN_CLIENT_SECRET')) },
      'setup',
    )
    /** @type {string} */
    this.token = /** @type {any} */ (expectStatus(res, 'admin token', 200).json()).access_token
  }

  /** @param {string} method @param {string} path @param {unknown} [body] @returns {any} */
  call(method, path, body) {
    const res = http.request(
      method,
      `${ADMIN_URL}${path}`,
      body === undefined ? null : JSON.stringify(body),
      {
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
        tags: { name: 'setup' },
      },
    )
    return expectStatus(res, `${method} ${path}`, 200, 201, 204).json()
  }

  /** @param {string} name @param {string[]} scopes @returns {{ client_id: string, client_secret: string }} */
  service(name, scopes) {
    return this.call('POST', '/api/v1/applications', { name, type: 'service', allowed_scopes: scopes })
  }

  /** A first-party web application (no consent screen) that may ask for offline_access. */
  webApp(/** @type {string} */ name) {
    return /** @type {{ client_id: string, client_secret: string }} */ (
      this.call('POST', '/api/v1/applications', {
        name,
        type: 'confidential',
        redirect_uris: [REDIRECT_URI],
        allowed_scopes: ['openid', 'profile', 'email', 'offline_access'],
        first_party: true,
      })
    )
  }

  /** `count` users sharing one password; returns their emails. */
  users(/** @type {string} */ prefix, /** @type {number} */ count, /** @type {string} */ password) {
    const run = `${Date.now().toString(36)}`
    /** @type {string[]} */
    const emails = []
    for (let i = 0; i < count; i++) {
      const email = `${prefix}-${run}-${i}@k6.test`
      this.call('POST', '/api/v1/users', { email, password })
      emails.push(email)
    }
    return emails
  }

  /**
   * Sets organization settings for the run and returns the previous values, for teardown().
   * @param {Record<string, number>} settings
   * @returns {Record<string, number | null>}
   */
  relax(settings) {
    const current = this.call('GET', '/api/v1/organization').settings ?? {}
    this.call('PATCH', '/api/v1/organization', { settings })
    return Object.fromEntries(Object.keys(settings).map((k) => [k, current[k] ?? null]))
  }

  /** @param {Record<string, number | null>} previous */
  restore(previous) {
    this.call('PATCH', '/api/v1/organization', { settings: previous })
  }
}

/**
 * Signs a browser (this VU's cookie jar) in through the real pages: the authorization request
 * sends it to the login page, the form posts back with its CSRF token, and the flow continues
 * to the redirect URI with a code. Returns the code.
 * @param {{ client_id: string }} app @param {string} email @param {string} password @param {string} scope
 */
export function signInForCode(app, email, password, scope) {
  let res = http.get(authorizeUrl(app, scope), { redirects: 0, tags: { name: 'authorize' } })
  // Without a session: on to the login page, following redirects inside the server.
  while ((res.status === 302 || res.status === 303) && !locationOf(res).startsWith(REDIRECT_URI))
    res = http.get(absolute(locationOf(res)), { redirects: 0, tags: { name: 'login page' } })
  if (res.status === 302 || res.status === 303) return codeFrom(res)
  expectStatus(res, 'login page', 200)
  const form = res.html('form')
  const fields = {
    email,
    password,
    csrf: String(form.find('input[name=csrf]').attr('value') ?? ''),
    interaction: String(form.find('input[name=interaction]').attr('value') ?? ''),
  }
  res = postForm(`${BASE_URL}/auth/login`, fields, {}, 'login')
  for (let i = 0; i < 5 && (res.status === 302 || res.status === 303); i++) {
    if (locationOf(res).startsWith(REDIRECT_URI)) return codeFrom(res)
    res = http.get(absolute(locationOf(res)), { redirects: 0, tags: { name: 'continue' } })
  }
  throw new Error(`sign-in did not reach the redirect URI: ${res.status} ${String(res.body).slice(0, 300)}`)
}

/** With a session: authorize answers with the code at once. */
export function codeWithSession(/** @type {{ client_id: string }} */ app, /** @type {string} */ scope) {
  const res = http.get(authorizeUrl(app, scope), { redirects: 0, tags: { name: 'authorize' } })
  return codeFrom(expectStatus(res, 'authorize', 302, 303))
}

/** @param {{ client_id: string, client_secret: string }} app @param {string} code */
export function exchangeCode(app, code) {
  const res = postForm(
    `${BASE_URL}/oauth/token`,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
    { Authorization: basic(app.client_id, app.client_secret) },
    'token (code)',
  )
  return /** @type {any} */ (expectStatus(res, 'code exchange', 200).json())
}

/** @param {{ client_id: string }} app @param {string} scope */
function authorizeUrl(app, scope) {
  const q = {
    client_id: app.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope,
    state: 'k6',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  }
  return `${BASE_URL}/oauth/authorize?${Object.entries(q)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')}`
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function locationOf(res) {
  return String(res.headers.Location ?? res.headers.location ?? '')
}

/** @param {string} location */
function absolute(location) {
  return location.startsWith('http') ? location : `${BASE_URL}${location}`
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function codeFrom(res) {
  const match = /[?&]code=([^&#]+)/.exec(locationOf(res))
  if (!match) throw new Error(`no code in ${locationOf(res)}`)
  return decodeURIComponent(match[1] ?? '')
}
