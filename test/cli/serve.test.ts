import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { logRecords, startArtifact, waitForStatus } from '../support/artifact.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

/** `serve` of the pim plane on `port`, migrating `db` at start-up. */
const serveEnv = (db: TestDatabase, port: number) => ({
  DATABASE_URL: db.appUrl,
  DATABASE_MIGRATION_URL: db.ownerUrl,
  MASTER_KEY: TEST_MASTER_KEY,
  PUBLIC_URL: `http://127.0.0.1:${port}`,
  PORT: String(port),
  HOST: '127.0.0.1',
  PLANES: 'pim',
})

describe('zenoauth serve', () => {
  it('migrates, serves, logs JSON with request ids, and on SIGTERM drains, closes the pool and exits 0', async () => {
    const db = await createTestDatabase({ empty: true })
    const port = await freePort()
    const run = startArtifact(['serve'], serveEnv(db, port))
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`)
      const res = await fetch(`http://127.0.0.1:${port}/health/liveness`, {
        headers: { 'x-request-id': 'serve-test-1' },
      })
      expect(res.headers.get('x-request-id')).toBe('serve-test-1')
    } finally {
      run.child.kill('SIGTERM')
    }
    const done = await run.exited
    expect(done.code).toBe(0)
    const records = logRecords(done.stdout)
    const messages = records.map((r) => r.msg)
    expect(messages).toEqual(
      expect.arrayContaining(['migrations applied', 'listening', 'shutting down', 'stopped']),
    )
    expect(records.find((r) => r.requestId === 'serve-test-1')).toMatchObject({
      msg: 'request',
      status: 200,
      planes: 'pim',
      level: 'info',
    })
    expect(records.find((r) => r.msg === 'stopped')).toMatchObject({ forced: false })
    // V8 took the code cache the build made with this Node.
    expect(records.find((r) => r.msg === 'listening')).toMatchObject({ codeCache: 'accepted' })
    expect(
      await db.sql(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'zenoauth-pim'",
      ),
    ).toEqual([{ n: 0 }])
  })

  it('with the schema current, checks it over its own connection and never connects as the owner', async () => {
    const db = await createTestDatabase()
    const port = await freePort()
    // An owner URL nothing listens on: were it used, the start would fail.
    const closed = await freePort()
    const run = startArtifact(['serve'], {
      ...serveEnv(db, port),
      DATABASE_MIGRATION_URL: `postgres://owner:x@127.0.0.1:${closed}/zenoauth`,
    })
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`)
    } finally {
      run.child.kill('SIGTERM')
    }
    const done = await run.exited
    expect(done.code, done.stderr).toBe(0)
    expect(logRecords(done.stdout).map((r) => r.msg)).not.toContain('migrations applied')
  })

  it('says so when a V8 flag makes V8 reject its code cache', async () => {
    const db = await createTestDatabase({ empty: true })
    const port = await freePort()
    // What a platform team might set through NODE_OPTIONS.
    const run = startArtifact(['serve'], serveEnv(db, port), undefined, ['--max-old-space-size=96'])
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`)
    } finally {
      run.child.kill('SIGTERM')
    }
    const done = await run.exited
    expect(done.code).toBe(0)
    const listening = logRecords(done.stdout).find((r) => r.msg === 'listening')
    expect(listening).toMatchObject({ codeCache: 'rejected' })
  })

  it('stopped while its first connection still waits on the database, drains and exits 0', async () => {
    // A "database" that accepts connections and never answers: the first connection waits
    // out its timeout, and SIGTERM comes before that.
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const dbPort = (silent.address() as { port: number }).port
    const port = await freePort()
    const run = startArtifact(['serve'], {
      DATABASE_URL: `postgres://zenoauth_app:x@127.0.0.1:${dbPort}/zenoauth`,
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      MASTER_KEY: TEST_MASTER_KEY,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      PLANES: 'pim',
      MIGRATE_ON_START: 'false',
    })
    try {
      // Bounded: 10 s of 20 ms polls for the log line.
      for (let i = 0; i < 500 && !run.stdout().includes('"msg":"listening"'); i++)
        await new Promise((r) => setTimeout(r, 20))
      expect(run.stdout()).toContain('"msg":"listening"')
      run.child.kill('SIGTERM')
      const done = await Promise.race([
        run.exited,
        new Promise<'still running'>((r) => setTimeout(() => r('still running'), 6000)),
      ])
      expect(done).not.toBe('still running')
      if (done === 'still running') return
      expect(done.code).toBe(0)
      const records = logRecords(done.stdout)
      expect(records.map((r) => r.msg)).toEqual(
        expect.arrayContaining(['listening', 'shutting down', 'database not reachable at start-up']),
      )
      expect(records.find((r) => r.msg === 'stopped')).toMatchObject({ forced: false })
    } finally {
      run.child.kill('SIGKILL')
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})
