// POST /oauth/token with client_credentials: the token service's hot path.
//   k6 run -e BASE_URL=… -e ADMIN_CLIENT_ID=… -e ADMIN_CLIENT_SECRET=… k6/client-credentials.js
import { check } from 'k6'
import { Admin, BASE_URL, basic, DURATION, postForm, rateAtLeast, VUS } from './lib/zenoauth.js'

export const options = {
  scenarios: { tokens: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  // The project's targets (README, "Benchmarks"), per server core: scale them by the auth
  // plane's cores before judging a cluster.
  thresholds: {
    'http_reqs{name:token}': [rateAtLeast(6000)],
    'http_req_duration{name:token}': ['p(99)<15'],
    'http_req_failed{name:token}': ['rate<0.001'],
  },
}

export function setup() {
  const app = new Admin().service(`k6 client credentials ${Date.now()}`, ['orders:read'])
  return { authorization: basic(app.client_id, app.client_secret) }
}

/** @param {{ authorization: string }} data */
export default function (data) {
  const res = postForm(
    `${BASE_URL}/oauth/token`,
    { grant_type: 'client_credentials', scope: 'orders:read' },
    { Authorization: data.authorization },
    'token',
  )
  check(res, { 'token issued': (r) => r.status === 200 })
}
