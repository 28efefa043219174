#!/usr/bin/env node
/**
 * `npm run chaos`: PostgreSQL stopped under mixed load, N times, against the built artifact
 * as a process (docs/operations.md, "When PostgreSQL fails").
 *
 *   node bench/chaos.mjs [--runs 20] [--down-ms 3000] [--no-build]
 *
 * The load, all the time: 6 client-credentials workers, 6 introspection workers, 15
 * refresh-token chains, 2 admin API readers (a transaction each) and a readiness poll every
 * 250 ms. Each run: 1.5 s of load, a fast shutdown of PostgreSQL, `--down-ms` down, a start
 * on the same port, then load until readiness is "ok" again and 1.5 s more. Reported per run
 * and in all: crashes of the server, wrong answers (anything but 200 or 503 where the
 * endpoint can answer them; a 500; a refused connection), 5xx by endpoint, the refresh chains
 * lost (a rotation whose COMMIT went through while its answer did not), and the recovery
 * time from PostgreSQL's start to readiness "ok". Writes bench/results/chaos-<time>.json.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort, median } from './harness.mjs'
import { basic, FORM, refreshTokenThroughSession } from './lib/http.mjs'
import { importTs } from './lib/load-ts.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'down-ms': { type: 'string', default: '3000' },
    'no-build': { type: 'boolean', default: false },
  },
})
const RUNS = Number(values.runs)
const DOWN_MS = Number(values['down-ms'])
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

if (!values['no-build'])
  execFileSync(process.execPath, [path.join(ROOT, 'build.mjs')], { stdio: 'inherit', cwd: ROOT })

const scratch = mkdtempSync(path.join(tmpdir(), 'zenoauth-chaos-'))
chmodSync(scratch, 0o755)
const dataDir = path.join(scratch, 'db')
const { startEmbeddedPostgres, ensureDatabase } = await importTs(ROOT, 'shared/db/embedded.ts')
let cluster = await startEmbeddedPostgres({ dataDir })
const pgPort = cluster.port
await ensureDatabase(cluster.ownerUrl('postgres'), 'chaos')

const port = await freePort()
const base = `http://127.0.0.1:${port}`
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL: cluster.appUrl('chaos'),
  DATABASE_MIGRATION_URL: cluster.ownerUrl('chaos'),
  MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
  PUBLIC_URL: base,
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
  READINESS_CACHE_MS: '0',
}
const artifact = path.join(ROOT, 'dist/zenoauth.mjs')
const bootstrap = JSON.parse(
  execFileSync(
    process.execPath,
    [artifact, 'bootstrap', '--org', 'chaos', '--admin-email', 'a@chaos.test', '--json'],
    {
      env,
      encoding: 'utf8',
    },
  ),
)
const adminAuth = basic(bootstrap.admin_client.client_id, bootstrap.admin_client.client_secret)

let server
let serverLog = ''
function startServer() {
  server = spawn(process.execPath, [artifact, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  server.stdout.on('data', (d) => {
    serverLog = (serverLog + d).slice(-20_000)
  })
  server.stderr.on('data', (d) => {
    serverLog = (serverLog + d).slice(-20_000)
  })
}
startServer()
async function readinessState() {
  const res = await fetch(`${base}/health/readiness`)
  return (await res.json()).status
}
async function waitReady(ms) {
  const started = performance.now()
  while (performance.now() - started < ms) {
    if ((await readinessState().catch(() => undefined)) === 'ok') return performance.now() - started
    await sleep(25)
  }
  return undefined
}
if ((await waitReady(20_000)) === undefined) throw new Error(`the server did not become ready:\n${serverLog}`)

const adminToken = async () => {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: adminAuth },
    body: 'grant_type=client_credentials',
  })
  return (await res.json()).access_token
}
const api = async (method, p, body) => {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
  return res.json()
}

// A relying party, a signed-in browser and a service, made once.
const REDIRECT = 'https://rp.chaos.test/cb'
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
await api('PATCH', '/api/v1/organization', {
  settings: { refresh_per_family_per_minute: 1_000_000, login_per_ip_per_minute: 100_000 },
})
const web = await api('POST', '/api/v1/applications', {
  name: 'chaos web',
  type: 'confidential',
  redirect_uris: [REDIRECT],
  allowed_scopes: ['openid', 'offline_access'],
  first_party: true,
})
const service = await api('POST', '/api/v1/applications', {
  name: 'chaos service',
  type: 'service',
  allowed_scopes: ['orders:read'],
})
const PASSWORD = 'chaos password, long enough'
await api('POST', '/api/v1/users', { email: 'chaos@chaos.test', password: PASSWORD })
const csrf = 'c'.repeat(43)
const login = await fetch(`${base}/auth/login`, {
  method: 'POST',
  redirect: 'manual',
  headers: { ...FORM, cookie: `zenoauth-csrf=${csrf}` },
  body: new URLSearchParams({ email: 'chaos@chaos.test', password: PASSWORD, csrf }),
})
const session = login.headers
  .getSetCookie()
  .find((c) => c.startsWith('zenoauth-session='))
  ?.split(';')[0]
if (!session) throw new Error(`sign-in failed: ${login.status}`)

/** A new refresh-token chain: a code through the session, exchanged. Undefined when it cannot. */
const newChain = () =>
  refreshTokenThroughSession({
    base,
    client: web,
    cookie: session,
    redirectUri: REDIRECT,
    verifier: VERIFIER,
    challenge: CHALLENGE,
  }).catch(() => undefined)

/** Runs the mixed load until `stop()`; resolves to what it saw. */
function mixedLoad() {
  const seen = { statuses: {}, wrong: [], chainsLost: 0, refused: 0 }
  let running = true
  const count = (endpoint, status, allowed) => {
    const key = `${endpoint} ${status}`
    seen.statuses[key] = (seen.statuses[key] ?? 0) + 1
    if (!allowed.includes(status)) seen.wrong.push(key)
  }
  const guard = async (work) => {
    try {
      await work()
    } catch (err) {
      seen.refused++
      if (seen.refused <= 3) seen.wrong.push(`request failed: ${err.message}`)
      await sleep(50)
    }
  }
  let liveToken
  const serviceAuth = basic(service.client_id, service.client_secret)
  const tokenWorker = async () => {
    while (running)
      await guard(async () => {
        const res = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { ...FORM, authorization: serviceAuth },
          body: 'grant_type=client_credentials&scope=orders:read',
        })
        count('token', res.status, [200, 503])
        const body = await res.json()
        if (res.status === 200) liveToken = body.access_token
      })
  }
  const introspectWorker = async () => {
    while (running)
      await guard(async () => {
        if (!liveToken) return sleep(20)
        const res = await fetch(`${base}/oauth/introspect`, {
          method: 'POST',
          headers: { ...FORM, authorization: serviceAuth },
          body: `token=${liveToken}`,
        })
        count('introspect', res.status, [200, 503])
        const body = await res.json()
        if (res.status === 200 && body.active !== true) seen.wrong.push('introspect: a live token inactive')
      })
  }
  const adminWorker = async () => {
    const token = await adminToken().catch(() => undefined)
    while (running)
      await guard(async () => {
        const res = await fetch(`${base}/api/v1/users?limit=5`, {
          headers: { authorization: `Bearer ${token}` },
        })
        count('admin', res.status, [200, 503])
        await res.arrayBuffer()
      })
  }
  const chain = async () => {
    let rt
    while (running)
      await guard(async () => {
        rt ??= await newChain()
        if (!rt) return sleep(100)
        const res = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { ...FORM, authorization: basic(web.client_id, web.client_secret) },
          body: `grant_type=refresh_token&refresh_token=${rt}`,
        })
        const body = await res.json()
        if (res.status === 400 && body.error === 'invalid_grant') {
          // The rotation before committed while its answer was lost: the old token is spent.
          seen.chainsLost++
          rt = undefined
          count('refresh', 'lost chain', ['lost chain'])
          return
        }
        count('refresh', res.status, [200, 503])
        if (res.status === 200) rt = body.refresh_token
      })
  }
  const readinessPoll = async () => {
    while (running)
      await guard(async () => {
        const res = await fetch(`${base}/health/readiness`)
        count('readiness', res.status, [200, 503])
        await res.arrayBuffer()
        await sleep(250)
      })
  }
  const workers = [
    ...Array.from({ length: 6 }, tokenWorker),
    ...Array.from({ length: 6 }, introspectWorker),
    ...Array.from({ length: 15 }, chain),
    ...Array.from({ length: 2 }, adminWorker),
    readinessPoll(),
  ]
  return {
    stop: async () => {
      running = false
      await Promise.all(workers)
      return seen
    },
  }
}

const runs = []
for (let i = 0; i < RUNS; i++) {
  const load = mixedLoad()
  await sleep(1500)
  await cluster.stop()
  await sleep(DOWN_MS)
  cluster = await startEmbeddedPostgres({ dataDir, port: pgPort })
  const recoveryMs = await waitReady(30_000)
  await sleep(1500)
  const seen = await load.stop()
  const crashed = server.exitCode !== null || server.signalCode !== null
  const fiveXx = Object.fromEntries(Object.entries(seen.statuses).filter(([k]) => / 5\d\d$/.test(k)))
  runs.push({
    run: i + 1,
    crashed,
    recoveryMs,
    wrong: seen.wrong,
    chainsLost: seen.chainsLost,
    fiveXx,
    statuses: seen.statuses,
  })
  console.log(
    `run ${i + 1}/${RUNS}: ${crashed ? 'CRASHED' : 'up'}, recovery ${recoveryMs === undefined ? 'none' : `${Math.round(recoveryMs)} ms`}, wrong ${seen.wrong.length}, chains lost ${seen.chainsLost}, 5xx ${JSON.stringify(fiveXx)}`,
  )
  if (crashed) {
    console.log(serverLog.slice(-3000))
    startServer()
    await waitReady(20_000)
  }
}
server.kill('SIGTERM')
await new Promise((r) => server.once('close', r))
await cluster.stop()
rmSync(scratch, { recursive: true, force: true })

const recoveries = runs.map((r) => r.recoveryMs).filter((ms) => ms !== undefined)
const sum = (pick) => runs.reduce((n, r) => n + pick(r), 0)
const fiveXxByEndpoint = {}
for (const r of runs)
  for (const [k, n] of Object.entries(r.fiveXx)) fiveXxByEndpoint[k] = (fiveXxByEndpoint[k] ?? 0) + n
const summary = {
  runs: RUNS,
  downMs: DOWN_MS,
  crashes: sum((r) => (r.crashed ? 1 : 0)),
  wrongAnswers: sum((r) => r.wrong.length),
  chainsLost: sum((r) => r.chainsLost),
  fiveXxByEndpoint,
  recoveryMs: recoveries.length
    ? { median: Math.round(median(recoveries)), max: Math.round(Math.max(...recoveries)) }
    : undefined,
  unrecovered: RUNS - recoveries.length,
}
console.log(`\n| PostgreSQL stopped under load | result |
|---|---|
| runs (down ${DOWN_MS} ms each) | ${RUNS} |
| crashes | ${summary.crashes} |
| wrong answers | ${summary.wrongAnswers} |
| 5xx by endpoint | ${
  Object.entries(fiveXxByEndpoint)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ') || 'none'
} |
| refresh chains lost (rotation committed, answer lost) | ${summary.chainsLost} |
| recovery, PostgreSQL started → readiness ok | median ${summary.recoveryMs?.median ?? '-'} ms, max ${summary.recoveryMs?.max ?? '-'} ms; never: ${summary.unrecovered} |`)
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true })
const file = path.join(ROOT, `bench/results/chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, `${JSON.stringify({ summary, runs }, null, 2)}\n`)
console.log(`results: ${path.relative(ROOT, file)}`)
process.exitCode = summary.crashes === 0 && summary.wrongAnswers === 0 && summary.unrecovered === 0 ? 0 : 1
