/**
 * Smoke test of the k6 scripts (k6/*.js): each runs for a few seconds with a handful of
 * virtual users against a real server, thresholds off, and must complete iterations with no
 * failed check and no script error. The load figures are the benchmarks' business, not this.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { startServer } from '../../shared/http/server.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const K6 = path.resolve(ROOT, '../shared/tools/k6')
const SCRIPTS = readdirSync(path.join(ROOT, 'k6')).filter((f) => f.endsWith('.js'))

if (!existsSync(K6)) {
  console.warn(
    `\n*** SKIPPED: the k6 smoke test: no k6 binary at ${K6} (see ../shared/tools/README.md) ***\n`,
  )
}

interface K6Run {
  readonly code: number | null
  readonly stderr: string
  // biome-ignore lint/suspicious/noExplicitAny: k6's summary export, read by assertions.
  readonly summary: Record<string, any>
}

function runK6(script: string, env: Record<string, string>): Promise<K6Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'zenoauth-k6-'))
  const summaryFile = path.join(dir, 'summary.json')
  const args = ['run', '--quiet', '--no-thresholds', '--no-usage-report', '--summary-export', summaryFile]
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`)
  args.push(path.join(ROOT, 'k6', script))
  return new Promise((resolve, reject) => {
    const child = spawn(K6, args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } })
    let stderr = ''
    child.stdout.resume()
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : {}
      rmSync(dir, { recursive: true, force: true })
      resolve({ code, stderr, summary })
    })
  })
}

describe.skipIf(!existsSync(K6))('the k6 scripts, with a real k6', () => {
  let t: TestRuntime
  let tenant: Tenant

  let baseUrl: string

  beforeAll(async () => {
    // As after `npm start`: the issuer is on localhost, and k6 is pointed at 127.0.0.1, so the
    // scripts must follow the issuer's endpoints (discovery) where its cookies live.
    const port = await freePort()
    t = await createTestRuntime({
      env: { PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://localhost:${port}` },
    })
    const server = await startServer(t.runtime, t.app)
    afterAll(() => server.shutdown())
    baseUrl = `http://127.0.0.1:${port}`
    tenant = await createTenant(t, 'k6')
  })

  it.each(SCRIPTS)(
    '%s completes iterations with every check passing and no script error',
    async (script) => {
      const { admin_client: admin } = tenant.bootstrap
      const run = await runK6(script, {
        BASE_URL: baseUrl,
        ADMIN_CLIENT_ID: admin.client_id,
        ADMIN_CLIENT_SECRET: admin.client_secret,
        VUS: '3',
        DURATION: '3s',
        TOKENS: '20',
      })
      const errors = run.stderr.split('\n').filter((l) => /level=(error|fatal)/.test(l))
      expect(errors, run.stderr).toEqual([])
      expect(run.code, run.stderr).toBe(0)
      const { checks, iterations } = run.summary.metrics ?? {}
      expect(iterations?.count, JSON.stringify(run.summary.metrics)).toBeGreaterThan(0)
      expect(checks?.passes).toBeGreaterThan(0)
      expect(checks?.fails).toBe(0)
    },
    90_000,
  )
})
