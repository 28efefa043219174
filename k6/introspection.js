// POST /oauth/introspect (RFC 7662) over a set of live access tokens.
import { check } from 'k6'
import { Admin, BASE_URL, basic, DURATION, expectStatus, postForm, rateAtLeast, VUS } from './lib/zenoauth.js'

const TOKENS = Number(__ENV.TOKENS || 200)

export const options = {
  scenarios: { introspect: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  thresholds: {
    'http_reqs{name:introspect}': [rateAtLeast(8000)],
    'http_req_duration{name:introspect}': ['p(99)<10'],
    'http_req_failed{name:introspect}': ['rate<0.001'],
  },
}

export function setup() {
  const admin = new Admin()
  const holder = admin.service(`k6 token holder ${Date.now()}`, ['orders:read'])
  const resource = admin.service(`k6 resource server ${Date.now()}`, [])
  /** @type {string[]} */
  const tokens = []
  for (let i = 0; i < TOKENS; i++) {
    const res = postForm(
      `${BASE_URL}/oauth/token`,
      { grant_type: 'client_credentials', scope: 'orders:read' },
      { Authorization: basic(holder.client_id, holder.client_secret) },
      'setup',
    )
    tokens.push(/** @type {any} */ (expectStatus(res, 'token', 200).json()).access_token)
  }
  return { tokens, authorization: basic(resource.client_id, resource.client_secret) }
}

/** @param {{ tokens: string[], authorization: string }} data */
export default function (data) {
  const token = data.tokens[Math.floor(Math.random() * data.tokens.length)] ?? ''
  const res = postForm(
    `${BASE_URL}/oauth/introspect`,
    { token },
    { Authorization: data.authorization },
    'introspect',
  )
  check(res, { active: (r) => r.status === 200 && /** @type {any} */ (r.json()).active === true })
}
