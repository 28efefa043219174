// Shared by the k6 scripts: configuration from the environment, and the admin API calls that
// create what a scenario needs in setup().
//
//   BASE_URL             the auth plane, e.g. https://id.example.com            (required)
//   ADMIN_URL            the admin plane, when it has its own host            (default BASE_URL)
//   ADMIN_CLIENT_ID      an admin API client (bootstrap prints one)           (required)
//   ADMIN_CLIENT_SECRET  its secret                                           (required)
//   VUS, DURATION        load shape                                           (default 50, 30s)
//   CORES                the auth plane's cores under test: rate targets scale (default 1)
//   GENERATORS           how many k6 instances share the load (the k6 operator's
//                        parallelism, or hosts run with --execution-segment): each
//                        judges its share of the rate target                  (default 1)
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
const CORES = Number(__ENV.CORES || 1)
const GENERATORS = Number(__ENV.GENERATORS || 1)

/**
 * A rate threshold for a per-core target (README, "Benchmarks"): the target times the auth
 * plane's cores, divided among the generators, since each k6 instance judges only its own
 * requests.
 * @param {number} perCore requests (or flows) a second on one server core
 */
export function rateAtLeast(perCore) {
  return `rate>=${Math.ceil((perCore * CORES) / GENERATORS)}`
}

export const REDIRECT_URI = 'https://rp.k6.test/callback'
// RFC 7636 Appendix B: a PKCE verifier and its S256 challenge.
export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
export const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

/**
 * A relying party: its credentials and the issuer's endpoints, from discovery. The issuer's
 * host can differ from BASE_URL (an issuer on localhost reached as 127.0.0.1): its cookies,
 * and so a signed-in browser, live on the issuer's host.
 * @typedef {{ client_id: string, client_secret: string, authorization_endpoint: string, token_endpoint: string }} WebApp
 */

/** OpenID Connect Discovery 1.0 §4: the endpoints a relying party uses. */
export function discover() {
  const res = http.get(`${BASE_URL}/.well-known/openid-configuration`, { tags: { name: 'setup' } })
  const doc = /** @type {any} */ (expectStatus(res, 'discovery', 200).json())
  return {
    authorization_endpoint: String(doc.authorization_endpoint),
    token_endpoint: String(doc.token_endpoint),
  }
}

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
  // Never follow redirects: a sign-in's redirects end at the relying party's redirect URI,
  // which is not a server k6 can (or should) reach; the callers walk them by hand.
  return http.post(url, body, { headers: { ...FORM, ...headers }, tags: { name }, redirects: 0 })
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

  /**
   * A first-party web application (no consent screen) that may ask for offline_access, with
   * the issuer's endpoints from discovery, as a relying party would have them.
   * @param {string} name
   * @returns {WebApp}
   */
  webApp(name) {
    const app = this.call('POST', '/api/v1/applications', {
      name,
      type: 'confidential',
      redirect_uris: [REDIRECT_URI],
      allowed_scopes: ['openid', 'profile', 'email', 'offline_access'],
      first_party: true,
    })
    return { client_id: app.client_id, client_secret: app.client_secret, ...discover() }
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
 * to the redirect URI with a code. Returns the code. Redirects are walked by hand and never
 * into the redirect URI, which is the relying party's and not reachable from here.
 * @param {WebApp} app @param {string} email @param {string} password @param {string} scope
 */
export function signInForCode(app, email, password, scope) {
  let res = http.get(authorizeUrl(app, scope), { redirects: 0, tags: { name: 'authorize' } })
  // Without a session: on to the login page, following redirects inside the server.
  while ((res.status === 302 || res.status === 303) && !locationOf(res).startsWith(REDIRECT_URI))
    res = http.get(absolute(locationOf(res), app), { redirects: 0, tags: { name: 'login page' } })
  if (res.status === 302 || res.status === 303) return codeFrom(res)
  expectStatus(res, 'login page', 200)
  const form = res.html('form')
  const fields = {
    email,
    password,
    csrf: String(form.find('input[name=csrf]').attr('value') ?? ''),
    interaction: String(form.find('input[name=interaction]').attr('value') ?? ''),
  }
  // The form's own action: the issuer's host, which holds the CSRF cookie.
  res = postForm(absolute(String(form.attr('action') ?? '/auth/login'), app), fields, {}, 'login')
  for (let i = 0; i < 5 && (res.status === 302 || res.status === 303); i++) {
    if (locationOf(res).startsWith(REDIRECT_URI)) return codeFrom(res)
    res = http.get(absolute(locationOf(res), app), { redirects: 0, tags: { name: 'continue' } })
  }
  throw new Error(`sign-in did not reach the redirect URI: ${res.status} ${String(res.body).slice(0, 300)}`)
}

/** With a session: authorize answers with the code at once. */
export function codeWithSession(/** @type {WebApp} */ app, /** @type {string} */ scope) {
  const res = http.get(authorizeUrl(app, scope), { redirects: 0, tags: { name: 'authorize' } })
  return codeFrom(expectStatus(res, 'authorize', 302, 303))
}

/** @param {WebApp} app @param {string} code */
export function exchangeCode(app, code) {
  const res = postForm(
    app.token_endpoint,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
    { Authorization: basic(app.client_id, app.client_secret) },
    'token (code)',
  )
  return /** @type {any} */ (expectStatus(res, 'code exchange', 200).json())
}

/** @param {WebApp} app @param {string} scope */
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
  return `${app.authorization_endpoint}?${Object.entries(q)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')}`
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function locationOf(res) {
  return String(res.headers.Location ?? res.headers.location ?? '')
}

/** A Location or form action, relative to the issuer's origin. @param {string} location @param {WebApp} app */
function absolute(location, app) {
  if (/^https?:/.test(location)) return location
  // k6 has no URL global: the origin is the endpoint up to its path.
  return `${/^https?:\/\/[^/]+/.exec(app.authorization_endpoint)?.[0] ?? BASE_URL}${location}`
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function codeFrom(res) {
  const match = /[?&]code=([^&#]+)/.exec(locationOf(res))
  if (!match) throw new Error(`no code in ${locationOf(res)}`)
  return decodeURIComponent(match[1] ?? '')
}
