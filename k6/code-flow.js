// The authorization code flow as browsers run it. Each VU is one browser: its first iteration
// signs in through the real login page (Argon2id-bound, ~150 ms of CPU); every later one has
// a session, so authorize answers with a code at once, and the code is exchanged for tokens.
// The target is for those flows with a session.
import { check } from 'k6'
import exec from 'k6/execution'
import { Counter } from 'k6/metrics'
import {
  Admin,
  codeWithSession,
  DURATION,
  exchangeCode,
  rateAtLeast,
  signInForCode,
  VUS,
} from './lib/zenoauth.js'

const PASSWORD = 'k6 password, long enough to pass'
const SCOPE = 'openid profile email'
const flows = new Counter('flows_with_session')

export const options = {
  // k6 empties each VU's cookie jar between iterations by default: the browser would lose its
  // session after its first iteration.
  noCookiesReset: true,
  // Creating the users hashes a password each (~150 ms of server CPU): allow for many VUs.
  setupTimeout: '10m',
  scenarios: { browsers: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  thresholds: {
    flows_with_session: [rateAtLeast(1500)],
    'http_req_failed{name:authorize}': ['rate<0.001'],
    'http_req_failed{name:token (code)}': ['rate<0.001'],
  },
}

export function setup() {
  const admin = new Admin()
  // One address signs every browser in: the per-IP login limit would refuse most of them.
  const previous = admin.relax({ login_per_ip_per_minute: 100000 })
  return {
    app: admin.webApp(`k6 code flow ${Date.now()}`),
    users: admin.users('k6-code', VUS, PASSWORD),
    previous,
  }
}

/** This VU's browser holds a session: set once its sign-in succeeded, not by iteration number. */
let signedIn = false

/** @param {{ app: import('./lib/zenoauth.js').WebApp, users: string[] }} data */
export default function (data) {
  if (!signedIn) {
    const email = data.users[(exec.vu.idInTest - 1) % data.users.length] ?? ''
    signedIn = check(exchangeCode(data.app, signInForCode(data.app, email, PASSWORD, SCOPE)), {
      'signed in': (t) => typeof t.id_token === 'string',
    })
    return
  }
  const tokens = exchangeCode(data.app, codeWithSession(data.app, SCOPE))
  if (check(tokens, { 'ID token': (t) => typeof t.id_token === 'string' })) flows.add(1)
}

/** @param {{ previous: Record<string, number | null> }} data */
export function teardown(data) {
  new Admin().restore(data.previous)
}
