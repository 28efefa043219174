#!/usr/bin/env node
/**
 * Load generator for multi-request flows that autocannon cannot express (each request needs
 * the previous one's answer): password login, the authorization code flow with a session,
 * and refresh-token chains. `connections` loops run for `warmup` seconds (not counted), then
 * for `duration` seconds. Input: a JSON spec file path as argv[2]; output: JSON on stdout.
 *
 *   { kind: 'login', base, connections, duration, warmup, users: [email], password }
 *   { kind: 'code', base, connections, duration, warmup, cookies: [cookie], client: {id, secret},
 *     redirectUri, scope, verifier, challenge }
 *   { kind: 'refresh', base, connections, duration, warmup, client: {id, secret}, tokens: [rt] }
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { RawConnection } from './raw-http.mjs'

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const base = new URL(spec.base)
const basic = spec.client
  ? `Basic ${Buffer.from(`${encodeURIComponent(spec.client.id)}:${encodeURIComponent(spec.client.secret)}`).toString('base64')}`
  : undefined
const FORM = 'application/x-www-form-urlencoded'

const form = (fields) => new URLSearchParams(fields).toString()
// What the flows read of an answer, without parsing all of it.
const CODE = /[?&]code=([A-Za-z0-9_-]+)/
const REFRESH_TOKEN = /"refresh_token":"([A-Za-z0-9_-]+)"/

class FlowError extends Error {
  constructor(step, res) {
    super(`${step}: ${res.status} ${res.body.slice(0, 200)}`)
    this.status = `${step} ${res.status}`
  }
}

let userIndex = 0
const randomIp = () => `10.${randomBytes(3).join('.')}`

/** Builds one connection's loop body: a function performing one whole flow. */
function flowFor(connection, http) {
  const tokenPost = (body) =>
    http.request('POST', '/oauth/token', { 'content-type': FORM, authorization: basic }, body)
  switch (spec.kind) {
    case 'login': {
      // The CSRF check is a double submit: any random value in both cookie and field passes.
      const csrf = randomBytes(32).toString('base64url')
      return async () => {
        const email = spec.users[userIndex++ % spec.users.length]
        const res = await http.request(
          'POST',
          '/auth/login',
          {
            'content-type': FORM,
            cookie: `zenoauth-csrf=${csrf}`,
            // Behind a proxy (TRUST_PROXY_HOPS=1) every client has its own address.
            'x-forwarded-for': randomIp(),
          },
          form({ email, password: spec.password, csrf }),
        )
        if (res.status !== 303 || !res.headers.location?.endsWith('/auth/account'))
          throw new FlowError('login', res)
      }
    }
    case 'code': {
      const query = form({
        client_id: spec.client.id,
        redirect_uri: spec.redirectUri,
        response_type: 'code',
        scope: spec.scope,
        state: 'bench',
        code_challenge: spec.challenge,
        code_challenge_method: 'S256',
      })
      // The connections share the signed-in browsers' sessions round-robin.
      const cookie = spec.cookies[connection % spec.cookies.length]
      const exchange = `${form({
        grant_type: 'authorization_code',
        redirect_uri: spec.redirectUri,
        code_verifier: spec.verifier,
      })}&code=`
      return async () => {
        const auth = await http.request('GET', `/oauth/authorize?${query}`, { cookie })
        if (auth.status !== 302 && auth.status !== 303) throw new FlowError('authorize', auth)
        // The code is base64url: nothing to decode, so a match is enough.
        const code = CODE.exec(auth.headers.location ?? '')?.[1]
        if (!code) throw new FlowError('authorize', auth)
        const res = await tokenPost(exchange + code)
        if (res.status !== 200) throw new FlowError('token', res)
      }
    }
    case 'refresh': {
      let token = spec.tokens[connection]
      return async () => {
        const res = await tokenPost(`grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`)
        if (res.status !== 200) throw new FlowError('refresh', res)
        token = REFRESH_TOKEN.exec(res.body)?.[1]
        if (!token) throw new FlowError('refresh', res)
      }
    }
    default:
      throw new Error(`unknown flow kind ${spec.kind}`)
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const latencies = []
// Every flow completed, the warm-up's included: the denominator of the CPU time per flow.
let completedAll = 0
const perSecond = []
const failures = {}
let firstError
let counting = false
let completedThisSecond = 0
const countFrom = performance.now() + spec.warmup * 1000
const stopAt = countFrom + spec.duration * 1000

async function loop(connection) {
  const http = new RawConnection(base.hostname, Number(base.port))
  const flow = flowFor(connection, http)
  while (performance.now() < stopAt) {
    const t0 = performance.now()
    try {
      await flow()
      completedAll++
      // Only flows that end inside the counted window: the ones still in flight at its end
      // would otherwise add up to `connections` completions to it.
      if (counting && performance.now() <= stopAt) {
        latencies.push(performance.now() - t0)
        completedThisSecond++
      }
    } catch (err) {
      const key = err.status ?? err.code ?? 'error'
      if (counting && performance.now() <= stopAt) failures[key] = (failures[key] ?? 0) + 1
      firstError ??= err.message
      // A broken chain (refresh) cannot go on; others pause briefly rather than spin.
      if (spec.kind === 'refresh') break
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  http.close()
}

// Per-second completions once counting starts, as autocannon reports them (full seconds only).
let ticker
setTimeout(() => {
  counting = true
  ticker = setInterval(() => {
    perSecond.push(completedThisSecond)
    completedThisSecond = 0
  }, 1000)
}, countFrom - performance.now())

await Promise.all(Array.from({ length: spec.connections }, (_, i) => loop(i)))
clearInterval(ticker)

const cpu = process.cpuUsage()
latencies.sort((a, b) => a - b)
const sortedSeconds = [...perSecond].sort((a, b) => a - b)
const result = {
  kind: spec.kind,
  connections: spec.connections,
  completed: latencies.length,
  perSecond,
  rate: {
    mean: latencies.length / spec.duration,
    p50: sortedSeconds.length ? sortedSeconds[Math.floor(sortedSeconds.length / 2)] : 0,
  },
  latency: {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
  },
  failures,
  firstError,
  // Flows completed since the start, warm-up included, and this load generator's own CPU time
  // per one of them.
  completedAll,
  cpuMicrosPerFlow: completedAll ? (cpu.user + cpu.system) / completedAll : 0,
}
process.stdout.write(JSON.stringify(result))
