/**
 * The artifact's command table: each command's modules are evaluated when it runs (main.ts),
 * so a command evaluates only what it needs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runArtifact, startArtifact } from '../support/artifact.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

let db: TestDatabase
// Preloaded with --require: on exit, says which of Node's internal modules the process loaded
// that matter here (undici is Node's fetch, loaded on first touch of fetch, Request, Response
// or Headers).
let reportModules: string

beforeAll(async () => {
  db = await createTestDatabase()
  const dir = mkdtempSync(path.join(tmpdir(), 'zenoauth-commands-'))
  reportModules = path.join(dir, 'report-modules.cjs')
  writeFileSync(
    reportModules,
    `process.on('exit', () => process.stderr.write('loaded: ' + JSON.stringify({ undici: process.moduleLoadList.some((m) => m.includes('undici')), http: process.moduleLoadList.includes('NativeModule http') }) + '\\n'))\n`,
  )
})

const loaded = (stderr: string) => JSON.parse(/loaded: (.*)/.exec(stderr)?.[1] ?? 'null')

async function runWithReport(args: string[], env: Record<string, string>) {
  const run = startArtifact(args, env, undefined, ['--require', reportModules])
  run.child.stdin?.end()
  return run.exited
}

describe('zenoauth commands', () => {
  it('answers an unknown command, even one named like an Object property, with the usage and exit 2', async () => {
    for (const name of ['nope', 'toString', 'constructor', '__proto__']) {
      const r = await runArtifact([name], {})
      expect(r.code, name).toBe(2)
      expect(r.stderr).toContain(`zenoauth: unknown command '${name}'`)
      expect(r.stderr).toContain('Usage: zenoauth <command>')
    }
  })

  it('migrate evaluates the database modules only: no HTTP server, no fetch', async () => {
    const r = await runWithReport(['migrate'], {
      DATABASE_URL: db.appUrl,
      DATABASE_MIGRATION_URL: db.ownerUrl,
      MASTER_KEY: TEST_MASTER_KEY,
      PUBLIC_URL: 'http://localhost:8080',
    })
    expect(r.code, r.stderr).toBe(0)
    // pg's module, unbundled, would have loaded undici to ask whether it runs on Cloudflare.
    expect(loaded(r.stderr)).toEqual({ undici: false, http: false })
  })

  it('help evaluates no command at all', async () => {
    const r = await runWithReport(['help'], {})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: zenoauth <command>')
    expect(loaded(r.stderr)).toEqual({ undici: false, http: false })
  })

  it('preload evaluates every command, the server included, runs none and exits 0', async () => {
    // No configuration at all: a command that ran would have failed on it.
    const r = await runWithReport(['preload'], {})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    expect(loaded(r.stderr)).toEqual({ undici: true, http: true })
  })
})
