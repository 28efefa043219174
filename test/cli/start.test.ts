import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, runningCluster } from '../../shared/db/embedded.ts'
import {
  artifactPath,
  runArtifact,
  spawnCollecting,
  startArtifact,
  waitForStatus,
} from '../support/artifact.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const dataRoot = mkdtempSync(path.join(tmpdir(), 'zenoauth-start-'))
chmodSync(dataRoot, 0o755)
const dataDir = path.join(dataRoot, '.data')
const pidFile = path.join(dataDir, 'pg/postmaster.pid')
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }))

/** `start` as a terminal runs it: the leader of its own process group, as Ctrl-C sees it. */
function startInGroup(
  port: number,
  command = [process.execPath, artifactPath(), 'start', '--data-dir', dataDir],
  cwd = dataRoot,
) {
  return spawnCollecting(command, { PORT: String(port), HOST: '127.0.0.1' }, { cwd, detached: true })
}

async function startOnce(args: string[] = [], whileUp?: (base: string) => Promise<void>) {
  const port = await freePort()
  const run = startArtifact(
    ['start', '--data-dir', dataDir, ...args],
    { PORT: String(port), HOST: '127.0.0.1' },
    dataRoot,
  )
  try {
    await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 600)
    await whileUp?.(`http://127.0.0.1:${port}`)
  } finally {
    run.child.kill('SIGINT')
  }
  return run.exited
}

/** Nothing of a stopped start is left: no server on its port, no PostgreSQL on its data. */
async function expectAllStopped(port: number) {
  await expect(fetch(`http://127.0.0.1:${port}/health/liveness`)).rejects.toThrow()
  expect(runningCluster(dataDir)).toBeUndefined()
  expect(existsSync(pidFile)).toBe(false)
}

describe('zenoauth start (npm start)', () => {
  it('runs on an embedded PostgreSQL, prints the admin credentials once, and reuses the data', async () => {
    const first = await startOnce()
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("Organization 'default' created (the default organization).")
    expect(first.stdout).toMatch(/admin password [A-Za-z0-9_-]{24}\n/)
    expect(first.stdout).toMatch(/client_secret {2}[A-Za-z0-9_-]{43}\n/)
    expect(existsSync(path.join(dataDir, 'pg/PG_VERSION'))).toBe(true)
    // The cluster was stopped cleanly: no pid file is left behind.
    expect(existsSync(pidFile)).toBe(false)

    const second = await startOnce()
    expect(second.code).toBe(0)
    expect(second.stdout).not.toContain('created')
    expect(second.stdout).not.toContain('password')
    expect(existsSync(pidFile)).toBe(false)

    // --name renames the default organization, and the pages say so.
    let heading = ''
    const third = await startOnce(['--name', 'Acme Labs'], async (base) => {
      heading = /<h1>([^<]*)<\/h1>/.exec(await (await fetch(`${base}/auth/login`)).text())?.[1] ?? ''
    })
    expect(third.code).toBe(0)
    expect(third.stderr).toContain("the default organization is now named 'Acme Labs' (was 'Default')")
    expect(heading).toBe('Sign in to Acme Labs')
  }, 120_000)

  it('stops the server, then PostgreSQL, on a Ctrl-C to the whole process group, with no stack trace', async () => {
    const port = await freePort()
    const run = startInGroup(port)
    await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 600)
    // Ctrl-C: the terminal signals every process of the foreground group at once.
    process.kill(-run.child.pid!, 'SIGINT')
    const done = await run.exited
    expect(done.code).toBe(0)
    expect(done.stderr).not.toMatch(/terminating connection|Error|\n\s+at /)
    expect(done.stdout).not.toMatch(/"level":"(warn|error)"|\n\s+at /)
    expect(done.stdout).toContain('"msg":"stopped"')
    await expectAllStopped(port)
  }, 60_000)

  it('refuses a second start on the same data, naming the PostgreSQL that holds it, and a taken port', async () => {
    const port = await freePort()
    const run = startInGroup(port)
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 600)
      const held = runningCluster(dataDir)!
      const again = await runArtifact(
        ['start', '--data-dir', dataDir],
        { PORT: String(await freePort()) },
        {
          cwd: dataRoot,
        },
      )
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(
        `the database in ${dataDir} is in use by PostgreSQL pid ${held.pid} (port ${held.port}), most likely another \`npm start\``,
      )
      expect(again.stderr).not.toMatch(/unexpected error|\n\s+at /)

      const otherData = path.join(dataRoot, 'other')
      const taken = await runArtifact(
        ['start', '--data-dir', otherData],
        { PORT: String(port), HOST: '127.0.0.1' },
        {
          cwd: dataRoot,
          timeoutMs: 60_000,
        },
      )
      expect(taken.code).toBe(1)
      expect(taken.stderr).toContain(
        `cannot listen on 127.0.0.1:${port}: the port is in use by another process`,
      )
      expect(taken.stderr).not.toMatch(/unexpected error|\n\s+at /)
      // The failed start stopped the PostgreSQL it had started.
      expect(runningCluster(otherData)).toBeUndefined()
    } finally {
      process.kill(-run.child.pid!, 'SIGTERM')
      await run.exited
    }
  }, 120_000)

  it('invoke, migrate and bootstrap use the running npm start database when DATABASE_URL is unset', async () => {
    const port = await freePort()
    const run = startInGroup(port)
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 600)
      const held = runningCluster(dataDir)!
      const invoked = await runArtifact(['invoke', 'GET', '/health/readiness'], {}, { cwd: dataRoot })
      expect(invoked.code).toBe(0)
      expect(invoked.stdout).toMatch(/^HTTP\/1\.1 200 OK\n/)
      expect(invoked.stderr).toContain(
        `using the npm start database in ${dataDir} (PostgreSQL pid ${held.pid}, port ${held.port})`,
      )
      const migrated = await runArtifact(['migrate'], {}, { cwd: dataRoot })
      expect(migrated.stdout).toBe('database is up to date\n')
      const boot = await runArtifact(
        ['bootstrap', '--org', 'acme', '--admin-email', 'a@acme.test', '--domain', 'acme.test', '--json'],
        {},
        {
          cwd: dataRoot,
        },
      )
      expect(boot.code).toBe(0)
      expect(JSON.parse(boot.stdout).organization.slug).toBe('acme')
      // The cluster is npm start's: the commands left it running.
      expect(runningCluster(dataDir)).toEqual(held)
    } finally {
      process.kill(-run.child.pid!, 'SIGTERM')
      await run.exited
    }
  }, 120_000)

  it('invoke starts the npm start database for itself when npm start is not running, and stops it', async () => {
    const r = await runArtifact(
      ['invoke', 'GET', '/health/readiness', '--data-dir', dataDir],
      {},
      {
        cwd: ROOT,
        timeoutMs: 60_000,
      },
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK\n/)
    expect(r.stderr).toContain(`starting the npm start database in ${dataDir} for this command`)
    expect(runningCluster(dataDir)).toBeUndefined()
    expect(existsSync(pidFile)).toBe(false)
  }, 60_000)

  it('invoke without DATABASE_URL or an npm start database says what to do, exit 2', async () => {
    const r = await runArtifact(['invoke', 'GET', '/health/readiness'], {}, { cwd: tmpdir() })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /DATABASE_URL is not set and there is no npm start database in .*: set DATABASE_URL, run npm start once, or pass --data-dir\n$/,
    )
  })

  it('npm start passes SIGTERM to the server, which stops PostgreSQL (what a process manager sends npm)', async () => {
    const port = await freePort()
    const run = startInGroup(port, ['npm', 'start', '--silent', '--', '--data-dir', dataDir], ROOT)
    await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 1200)
    // The signal goes to npm alone, not to its group.
    run.child.kill('SIGTERM')
    await run.exited
    // npm's child, the server, drains and stops PostgreSQL, bounded by the polls.
    for (let i = 0; i < 100 && runningCluster(dataDir); i++) await new Promise((r) => setTimeout(r, 100))
    await expectAllStopped(port)
  }, 120_000)
})
