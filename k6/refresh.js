// Refresh-token rotation: each VU signs in once, then rotates its own refresh token in a loop
// (a new access token, ID token and refresh token each time; the old one is spent).
import { check } from 'k6'
import exec from 'k6/execution'
import {
  Admin,
  basic,
  DURATION,
  exchangeCode,
  postForm,
  rateAtLeast,
  signInForCode,
  VUS,
} from './lib/zenoauth.js'

const PASSWORD = 'k6 password, long enough to pass'

export const options = {
  // Creating the users hashes a password each (~150 ms of server CPU): allow for many VUs.
  setupTimeout: '10m',
  scenarios: { chains: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  thresholds: {
    'http_reqs{name:refresh}': [rateAtLeast(2500)],
    'http_req_failed{name:refresh}': ['rate<0.001'],
  },
}

export function setup() {
  const admin = new Admin()
  // A chain refreshes thousands of times a minute; the per-family limit (60/min) exists to stop
  // a stolen token replayed in a loop, which is what this looks like. Lifted for the run only.
  const previous = admin.relax({ refresh_per_family_per_minute: 1000000, login_per_ip_per_minute: 100000 })
  return {
    app: admin.webApp(`k6 refresh ${Date.now()}`),
    users: admin.users('k6-refresh', VUS, PASSWORD),
    previous,
  }
}

/** @type {string | undefined} */
let refreshToken

/** @param {{ app: import('./lib/zenoauth.js').WebApp, users: string[] }} data */
export default function (data) {
  if (refreshToken === undefined) {
    const email = data.users[(exec.vu.idInTest - 1) % data.users.length] ?? ''
    refreshToken = exchangeCode(
      data.app,
      signInForCode(data.app, email, PASSWORD, 'openid offline_access'),
    ).refresh_token
    return
  }
  const res = postForm(
    data.app.token_endpoint,
    { grant_type: 'refresh_token', refresh_token: refreshToken ?? '' },
    { Authorization: basic(data.app.client_id, data.app.client_secret) },
    'refresh',
  )
  if (check(res, { rotated: (r) => r.status === 200 }))
    refreshToken = /** @type {any} */ (res.json()).refresh_token
  else refreshToken = undefined
}

/** @param {{ previous: Record<string, number | null> }} data */
export function teardown(data) {
  new Admin().restore(data.previous)
}
