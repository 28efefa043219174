/**
 * The server as a process survives PostgreSQL failing under load (DESIGN.md §5, fail closed):
 * backends killed by pg_terminate_backend, and the cluster itself stopped and started again,
 * while requests are in flight. The process must stay up, answer 503 (or from its caches)
 * meanwhile, never 500, and recover on its own.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type EmbeddedPostgres,
  ensureDatabase,
  freePort,
  startEmbeddedPostgres,
} from '../../shared/db/embedded.ts'
import { type Running, runArtifact, startArtifact, waitForStatus } from '../support/artifact.ts'
import { basic } from '../support/oauth.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

const scratch = mkdtempSync(path.join(tmpdir(), 'zenoauth-outage-'))
chmodSync(scratch, 0o755)
const dataDir = path.join(scratch, 'db')

let cluster: EmbeddedPostgres
let server: Running
let base: string
let admin: { client_id: string; client_secret: string }
let pgPort: number

/** The server's error-level log lines: what a wrong answer was, from the inside. */
const errorLogs = () =>
  server
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"level":"error"'))
    .slice(0, 5)
    .join('\n')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  cluster = await startEmbeddedPostgres({ dataDir, ephemeral: true })
  pgPort = cluster.port
  await ensureDatabase(cluster.ownerUrl('postgres'), 'outage')
  const env = {
    DATABASE_URL: cluster.appUrl('outage'),
    DATABASE_MIGRATION_URL: cluster.ownerUrl('outage'),
    MASTER_KEY: TEST_MASTER_KEY,
    DATABASE_CONNECT_TIMEOUT_MS: '500',
    DATABASE_STATEMENT_TIMEOUT_MS: '2000',
    READINESS_CACHE_MS: '0',
    // The caches, and so readiness while the database is down, last 2 s here.
    CACHE_TTL_MS: '2000',
  }
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  const boot = await runArtifact(['bootstrap', '--org', 'acme', '--admin-email', 'a@acme.test', '--json'], {
    ...env,
    PUBLIC_URL: base,
  })
  expect(boot.code, boot.stderr).toBe(0)
  admin = JSON.parse(boot.stdout).admin_client
  server = startArtifact(['serve'], { ...env, PUBLIC_URL: base, PORT: String(port), HOST: '127.0.0.1' })
  await waitForStatus(`${base}/health/readiness`, 200, 400)
}, 120_000)

afterAll(async () => {
  server?.child.kill('SIGKILL')
  await cluster?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

interface Tally {
  readonly statuses: Map<string, number>
  /** Answers that are neither a success nor "unavailable": each is a defect. */
  readonly wrong: string[]
}

/**
 * `workers` loops of mixed requests until `stop()`, which resolves to what they saw: client
 * credentials, introspection of a live token, an admin API read (a transaction every time),
 * readiness.
 */
function load(workers: number): { stop(): Promise<Tally> } {
  const tally: Tally = { statuses: new Map(), wrong: [] }
  let done = false
  const auth = basic(admin.client_id, admin.client_secret)
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }
  let token = ''
  const count = (what: string, res: Response, ok: readonly number[]) => {
    const key = `${what} ${res.status}`
    tally.statuses.set(key, (tally.statuses.get(key) ?? 0) + 1)
    if (!ok.includes(res.status)) tally.wrong.push(key)
    if (!res.headers.get('x-request-id')) tally.wrong.push(`${key} without a request id`)
  }
  const worker = async (i: number) => {
    // Bounded: at most this many requests a worker, whatever happens.
    for (let n = 0; n < 100_000 && !done; n++) {
      try {
        switch ((n + i) % 4) {
          case 0: {
            const res = await fetch(`${base}/oauth/token`, {
              method: 'POST',
              headers: form,
              body: 'grant_type=client_credentials&scope=users:read',
            })
            count('token', res, [200, 503])
            if (res.status === 200) token = ((await res.json()) as { access_token: string }).access_token
            else await res.arrayBuffer()
            break
          }
          case 1: {
            if (!token) break
            const res = await fetch(`${base}/oauth/introspect`, {
              method: 'POST',
              headers: form,
              body: `token=${token}`,
            })
            count('introspect', res, [200, 503])
            const body = (await res.json()) as { active?: boolean }
            if (res.status === 200 && body.active !== true)
              tally.wrong.push('introspect: an issued token inactive')
            break
          }
          case 2: {
            if (!token) break
            const res = await fetch(`${base}/api/v1/users?limit=5`, {
              headers: { authorization: `Bearer ${token}` },
            })
            count('admin', res, [200, 503])
            await res.arrayBuffer()
            break
          }
          default: {
            const res = await fetch(`${base}/health/readiness`)
            count('readiness', res, [200, 503])
            await res.arrayBuffer()
          }
        }
      } catch (err) {
        // The process died, or refused the connection: never acceptable here.
        tally.wrong.push(`request failed: ${(err as Error).message}`)
        await sleep(50)
      }
    }
  }
  const running = Promise.all(Array.from({ length: workers }, (_, i) => worker(i)))
  return {
    stop: async () => {
      done = true
      await running
      return tally
    },
  }
}

async function terminateBackends(): Promise<number> {
  const client = new pg.Client({ connectionString: cluster.ownerUrl('postgres') })
  client.on('error', () => {})
  await client.connect()
  try {
    const { rowCount } = await client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'outage' AND pid <> pg_backend_pid()",
    )
    return rowCount ?? 0
  } finally {
    await client.end()
  }
}

async function readiness(): Promise<{ status: number; state: string }> {
  const res = await fetch(`${base}/health/readiness`)
  return { status: res.status, state: ((await res.json()) as { status: string }).status }
}

/** Readiness is "ok" again (not merely degraded) within `ms`, polled every 50 ms. */
async function recovered(ms: number): Promise<number> {
  const started = Date.now()
  for (let i = 0; i < ms / 50; i++) {
    const now = await readiness().catch(() => undefined)
    if (now?.state === 'ok') return Date.now() - started
    await sleep(50)
  }
  throw new Error(`readiness did not come back within ${ms} ms`)
}

describe('PostgreSQL failing under load', () => {
  it('survives every backend of its database being terminated, 20 times, and answers only 200 or 503', async () => {
    const running = load(8)
    await sleep(300)
    let terminated = 0
    for (let i = 0; i < 20; i++) {
      terminated += await terminateBackends()
      await sleep(100 + (i % 5) * 40)
    }
    await recovered(5000)
    await sleep(300)
    const tally = await running.stop()
    expect(terminated).toBeGreaterThan(20)
    expect(tally.wrong, errorLogs()).toEqual([])
    expect(server.child.exitCode).toBeNull()
    expect(tally.statuses.get('token 200')).toBeGreaterThan(0)
    expect(tally.statuses.get('admin 200')).toBeGreaterThan(0)
  }, 90_000)

  it('stays ready, degraded, while its caches can serve (CACHE_TTL_MS), then unready; liveness never asks the database', async () => {
    expect(await readiness()).toEqual({ status: 200, state: 'ok' })
    await cluster.stop()
    try {
      expect(await readiness()).toEqual({ status: 200, state: 'degraded' })
      // A cached client still gets tokens while the database is down.
      const token = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(admin.client_id, admin.client_secret),
        },
        body: 'grant_type=client_credentials',
      })
      expect([200, 503]).toContain(token.status)
      let after = await readiness()
      for (let i = 0; i < 60 && after.state === 'degraded'; i++) {
        await sleep(100)
        after = await readiness()
      }
      expect(after).toEqual({ status: 503, state: 'unavailable' })
      expect((await fetch(`${base}/health/liveness`)).status).toBe(200)
    } finally {
      cluster = await startEmbeddedPostgres({ dataDir, ephemeral: true, port: pgPort })
    }
    await recovered(10_000)
  }, 60_000)

  it('survives PostgreSQL stopping and starting again, 3 times, and recovers each time on its own', async () => {
    const running = load(8)
    await sleep(300)
    const recoveries: number[] = []
    for (let i = 0; i < 3; i++) {
      // A real stop: PostgreSQL's fast shutdown ends every session under the load.
      await cluster.stop()
      await sleep(1500)
      cluster = await startEmbeddedPostgres({ dataDir, ephemeral: true, port: pgPort })
      recoveries.push(await recovered(10_000))
      await sleep(300)
    }
    const tally = await running.stop()
    expect(tally.wrong, errorLogs()).toEqual([])
    expect(server.child.exitCode).toBeNull()
    // While it was down, something answered 503 rather than nothing at all.
    expect([...tally.statuses.keys()].some((k) => k.endsWith(' 503'))).toBe(true)
    const after = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(admin.client_id, admin.client_secret),
      },
      body: 'grant_type=client_credentials',
    })
    expect(after.status).toBe(200)
    console.info(
      `recovered after each restart in ${recoveries.join(', ')} ms; answers: ${JSON.stringify(Object.fromEntries(tally.statuses))}`,
    )
  }, 120_000)
})
