import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { startArtifact, waitForStatus } from '../support/artifact.ts'

const dataRoot = mkdtempSync(path.join(tmpdir(), 'zenoauth-start-'))
chmodSync(dataRoot, 0o755)
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }))

async function startOnce() {
  const port = await freePort()
  const run = startArtifact(
    ['start', '--data-dir', path.join(dataRoot, '.data')],
    { PORT: String(port), HOST: '127.0.0.1' },
    dataRoot,
  )
  try {
    await waitForStatus(`http://127.0.0.1:${port}/health/readiness`, 200, 600)
  } finally {
    run.child.kill('SIGINT')
  }
  return run.exited
}

describe('zenoauth start (npm start)', () => {
  it('runs on an embedded PostgreSQL, prints the admin credentials once, and reuses the data', async () => {
    const first = await startOnce()
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("Organization 'default' created (the default organization).")
    expect(first.stdout).toMatch(/admin password [A-Za-z0-9_-]{24}\n/)
    expect(first.stdout).toMatch(/client_secret {2}[A-Za-z0-9_-]{43}\n/)
    expect(existsSync(path.join(dataRoot, '.data/pg/PG_VERSION'))).toBe(true)
    // The cluster was stopped cleanly: no pid file is left behind.
    expect(existsSync(path.join(dataRoot, '.data/pg/postmaster.pid'))).toBe(false)

    const second = await startOnce()
    expect(second.code).toBe(0)
    expect(second.stdout).not.toContain('created')
    expect(second.stdout).not.toContain('password')
    expect(existsSync(path.join(dataRoot, '.data/pg/postmaster.pid'))).toBe(false)
  }, 120_000)
})
