// GET /.well-known/jwks.json: what every relying party and resource server fetches.
import { check } from 'k6'
import http from 'k6/http'
import { BASE_URL, DURATION, rateAtLeast, VUS } from './lib/zenoauth.js'

export const options = {
  scenarios: { jwks: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  thresholds: {
    'http_reqs{name:jwks}': [rateAtLeast(12000)],
    'http_req_failed{name:jwks}': ['rate<0.001'],
  },
}

export default function () {
  const res = http.get(`${BASE_URL}/.well-known/jwks.json`, { tags: { name: 'jwks' } })
  check(res, { 'has keys': (r) => r.status === 200 && /** @type {any} */ (r.json()).keys.length > 0 })
}
