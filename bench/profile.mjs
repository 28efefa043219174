/**
 * Profiles one endpoint under load: the artifact on core 0 with --cpu-prof, autocannon on
 * core 1 for a few seconds, then the functions with the most self time.
 *   node bench/profile.mjs [jwks|token|introspect] [seconds]
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHarness } from './harness.mjs'
import { adminApi, basic, FORM as form, json } from './lib/http.mjs'

const [which = 'jwks', seconds = '5'] = process.argv.slice(2)
const root = path.resolve(import.meta.dirname, '..')
const scratch = mkdtempSync(path.join(tmpdir(), 'zenoauth-profile-'))
chmodSync(scratch, 0o755)
const profDir = path.join(scratch, 'prof')
const h = await createHarness({ root, scratch, quick: true })
const server = await h.startServer({}, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] })
try {
  const api = await adminApi(h.baseUrl, h.bootstrap.admin_client)
  const app = await api('POST', '/api/v1/applications', { name: 'p', type: 'service', allowed_scopes: ['a'] })
  const auth = basic(app.client_id, app.client_secret)
  const token = async () =>
    (
      await json(
        await fetch(`${h.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: { ...form, authorization: auth },
          body: 'grant_type=client_credentials',
        }),
      )
    ).access_token
  const targets = {
    jwks: { url: `${h.baseUrl}/.well-known/jwks.json` },
    token: {
      url: `${h.baseUrl}/oauth/token`,
      method: 'POST',
      headers: { ...form, authorization: auth },
      body: 'grant_type=client_credentials',
    },
    introspect: {
      url: `${h.baseUrl}/oauth/introspect`,
      method: 'POST',
      headers: { ...form, authorization: auth },
      body: `token=${await token()}`,
    },
  }
  const r = await h.autocannon({ ...targets[which], duration: Number(seconds) }, server.pid)
  console.log(
    `${which}: ${Math.round(r.requests.p50)} req/s (p99 ${r.latency.p99} ms, busy ${Math.round(r.serverBusy * 100)} %)`,
  )
} finally {
  await server.stop()
  await h.close()
}
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
const profile = JSON.parse(readFileSync(path.join(profDir, file), 'utf8'))
const self = new Map()
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const dt = profile.timeDeltas
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i])
  const { functionName, url, lineNumber } = n.callFrame
  const key = `${functionName || '(anon)'} ${path.basename(url)}:${lineNumber + 1}:${n.callFrame.columnNumber}`
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(`${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`)
