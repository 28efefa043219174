/**
 * Memory limits: the peak resident memory of the processes that hash passwords, against the
 * memory limits their manifests give them. An Argon2id hash holds 64 MiB while it runs, so a
 * limit sized on idle memory alone gets the pod OOM-killed at its first password.
 *
 * - the admin plane alone (`PLANES=admin`, `PASSWORD_HASH_CONCURRENCY=1`, as deployed) while 20
 *   clients create users with a password, 5 each; the same without passwords for comparison;
 * - the auth plane alone (`PLANES=auth`, `PASSWORD_HASH_CONCURRENCY=1`) serving client
 *   credentials over 50 connections during a login storm of 8 logins in flight;
 * - the one-off `bootstrap` command, which hashes the first administrator's password.
 *
 * Peaks are the kernel's high-water mark (VmHWM), read while the process still runs.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { median, peakRssOf } from '../harness.mjs'
import { basic, FORM as form, json } from '../lib/http.mjs'

const MIB = 1024 * 1024
const CLIENTS = 20
const USERS_EACH = 5
const PASSWORD = 'a password long enough'

/** A Kubernetes memory quantity (Mi or Gi) in MiB. */
function mebibytes(quantity) {
  const m = /^(\d+)(Mi|Gi)$/.exec(String(quantity))
  if (!m) throw new Error(`unexpected memory quantity ${quantity}`)
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1)
}

/** The memory limit a plane's production patch gives its container, in MiB. */
function planeLimit(root, plane) {
  const patch = parseYaml(
    readFileSync(path.join(root, `knative/overlays/production/planes/${plane}/service.yaml`), 'utf8'),
  )
  const op = patch.find((p) => p.path === '/spec/template/spec/containers/0/resources')
  return mebibytes(op.value.limits.memory)
}

/** The memory limit of the bootstrap pod, in MiB. */
function bootstrapLimit(root) {
  const pod = parseYaml(readFileSync(path.join(root, 'knative/bootstrap/pod.yaml'), 'utf8'))
  return mebibytes(pod.spec.containers[0].resources.limits.memory)
}

/** Runs `bootstrap` for a new organization; resolves to its peak RSS in bytes, polled every 5 ms. */
function bootstrapPeak(h, org) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [h.artifact, 'bootstrap', '--org', org, '--admin-email', `admin@${org}.test`, '--json'],
      { env: h.baseEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let peak = 0
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setInterval(() => {
      try {
        peak = Math.max(peak, peakRssOf(child.pid))
      } catch {
        // exited between the check and the read
      }
    }, 5)
    child.on('exit', (code) => {
      clearInterval(timer)
      if (code === 0) resolve(peak)
      else reject(new Error(`bootstrap exited ${code}: ${stderr}`))
    })
  })
}

export const memoryLimits = {
  name: 'memory-limits',
  async run(h) {
    const rounds = h.quick ? 1 : 3
    const raw = { admin: [], adminWithoutPasswords: [], auth: [], bootstrap: [] }
    const rows = []

    // An admin token from the auth plane; the admin plane alone checks it with the cached keys.
    const issuer = await h.startServer({})
    const { access_token: token } = await json(
      await fetch(`${h.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          ...form,
          authorization: basic(h.bootstrap.admin_client.client_id, h.bootstrap.admin_client.client_secret),
        },
        body: 'grant_type=client_credentials',
      }),
    )
    const admin = (p, body) =>
      fetch(`${h.baseUrl}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then(json)
    // Users for the login storm (20, so that no account reaches its per-minute limit) and a
    // service for the token load.
    const users = []
    for (let i = 0; i < 20; i++) {
      const email = `storm${i}@memory.test`
      await admin('/api/v1/users', { email, password: PASSWORD })
      users.push(email)
    }
    const service = await admin('/api/v1/applications', { name: 'memory service', type: 'service' })
    await issuer.stop()

    for (let round = 0; round < rounds; round++) {
      for (const withPasswords of [true, false]) {
        const server = await h.startServer(
          { PLANES: 'admin', PASSWORD_HASH_CONCURRENCY: '1' },
          { pin: false },
        )
        try {
          await Promise.all(
            Array.from({ length: CLIENTS }, async (_, client) => {
              for (let i = 0; i < USERS_EACH; i++) {
                const email = `m${round}-${withPasswords ? 'p' : 'n'}-${client}-${i}@memory.test`
                const res = await fetch(`${h.baseUrl}/api/v1/users`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
                  body: JSON.stringify(
                    withPasswords ? { email, password: 'a password long enough' } : { email },
                  ),
                })
                await res.arrayBuffer()
                if (res.status !== 201) throw new Error(`user creation answered ${res.status}`)
              }
            }),
          )
          raw[withPasswords ? 'admin' : 'adminWithoutPasswords'].push(peakRssOf(server.pid))
        } finally {
          await server.stop()
        }
      }
      // Behind a proxy (TRUST_PROXY_HOPS=1) every login comes from its own address.
      const auth = await h.startServer({
        PLANES: 'auth',
        PASSWORD_HASH_CONCURRENCY: '1',
        TRUST_PROXY_HOPS: '1',
      })
      try {
        const [storm, tokens] = await Promise.all([
          h.flows({ kind: 'login', connections: 8, users, password: PASSWORD, duration: h.quick ? 6 : 14 }),
          h.autocannon({
            url: `${h.baseUrl}/oauth/token`,
            method: 'POST',
            headers: { ...form, authorization: basic(service.client_id, service.client_secret) },
            body: 'grant_type=client_credentials',
          }),
        ])
        // A storm whose logins failed would hash less and prove nothing.
        if (storm.completed === 0 || Object.keys(storm.failures).length)
          throw new Error(
            `login storm: ${storm.completed} logins, failures ${JSON.stringify(storm.failures)}`,
          )
        if (tokens.non2xx + tokens.errors > 0) throw new Error(`token load: ${tokens.non2xx} non-2xx`)
        raw.auth.push(peakRssOf(auth.pid))
        raw.authLoad ??= []
        raw.authLoad.push({ logins: storm.rate.mean, tokens: tokens.requests.p50 })
      } finally {
        await auth.stop()
      }
      raw.bootstrap.push(await bootstrapPeak(h, `memory${round}`))
    }

    const adminLimit = planeLimit(h.root, 'admin')
    const adminPeak = median(raw.admin) / MIB
    rows.push({
      scenario: 'memory limits',
      metric: `admin plane alone (\`PASSWORD_HASH_CONCURRENCY=1\`), ${CLIENTS} clients creating ${USERS_EACH} users each with a password: peak RSS (without passwords: ${(median(raw.adminWithoutPasswords) / MIB).toFixed(0)} MiB; n=${rounds})`,
      value: `${adminPeak.toFixed(0)} MiB`,
      target: `≤ ${adminLimit} MiB (its limit)`,
      pass: adminPeak <= adminLimit,
    })
    const authLimit = planeLimit(h.root, 'auth')
    const authPeak = median(raw.auth) / MIB
    rows.push({
      scenario: 'memory limits',
      metric: `auth plane alone (\`PASSWORD_HASH_CONCURRENCY=1\`), client credentials over 50 connections during a login storm (8 in flight; ${Math.round(median(raw.authLoad.map((l) => l.tokens)))} tokens/s and ${median(raw.authLoad.map((l) => l.logins)).toFixed(1)} logins/s): peak RSS (n=${rounds})`,
      value: `${authPeak.toFixed(0)} MiB`,
      target: `≤ ${authLimit} MiB (its limit)`,
      pass: authPeak <= authLimit,
    })
    const bootLimit = bootstrapLimit(h.root)
    const bootPeak = median(raw.bootstrap) / MIB
    rows.push({
      scenario: 'memory limits',
      metric: `\`bootstrap\` (one hash of the first administrator's password): peak RSS (n=${rounds})`,
      value: `${bootPeak.toFixed(0)} MiB`,
      target: `≤ ${bootLimit} MiB (the pod's limit)`,
      pass: bootPeak <= bootLimit,
    })
    return { raw, rows }
  },
}
