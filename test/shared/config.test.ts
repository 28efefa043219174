import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../shared/config.ts'
import { runArtifact } from '../support/artifact.ts'

const BASE = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/zenoauth', NODE_ENV: 'development' }
const KEY = Buffer.alloc(32, 1).toString('base64')

function problems(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

describe('loadConfig', () => {
  it('fills every default', () => {
    const config = loadConfig(BASE)
    expect(config).toMatchObject({
      env: 'development',
      publicUrl: 'http://localhost:8080',
      host: '0.0.0.0',
      port: 8080,
      planes: ['auth', 'admin', 'pim', 'break-glass'],
      logLevel: 'info',
      migrateOnStart: true,
      accessLog: true,
      proxyTrust: { kind: 'hops', hops: 0 },
      masterKeyIsDevelopmentKey: true,
      jobs: true,
      passwordHashConcurrency: availableParallelism(),
    })
    expect(config.database).toMatchObject({
      url: BASE.DATABASE_URL,
      migrationUrl: BASE.DATABASE_URL,
      listenUrl: BASE.DATABASE_URL,
      poolMax: 10,
      statementTimeoutMs: 5000,
      runtimeRole: 'zenoauth_runtime',
    })
  })

  it('is frozen', () => {
    const config = loadConfig(BASE)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.database)).toBe(true)
  })

  it('parses every variable it is given', () => {
    const config = loadConfig({
      ...BASE,
      NODE_ENV: 'production',
      MASTER_KEY: KEY,
      PUBLIC_URL: 'https://id.example.com/',
      PORT: '9000',
      PLANES: 'pim, break-glass,pim',
      DATABASE_POOL_MAX: '4',
      DATABASE_BATCHES_IN_FLIGHT: '2',
      LOG_LEVEL: 'warn',
      ACCESS_LOG: 'false',
      MIGRATE_ON_START: '0',
      CACHE_TTL_MS: '500',
      KEY_ROTATION_DAYS: '7',
      JOBS: 'false',
      PASSWORD_HASH_CONCURRENCY: '2',
    })
    expect(config.cacheTtlMs).toBe(500)
    expect(config.keyRotationPeriodMs).toBe(7 * 86_400_000)
    expect(config.jobs).toBe(false)
    expect(config.passwordHashConcurrency).toBe(2)
    expect(config.publicUrl).toBe('https://id.example.com')
    expect(config.port).toBe(9000)
    expect(config.planes).toEqual(['pim', 'break-glass'])
    expect(config.database.poolMax).toBe(4)
    expect(config.database.batchesInFlight).toBe(2)
    expect(config.masterKey.equals(Buffer.from(KEY, 'base64'))).toBe(true)
    expect(config.masterKeyIsDevelopmentKey).toBe(false)
    expect([config.logLevel, config.accessLog, config.migrateOnStart]).toEqual(['warn', false, false])
  })

  it('names a missing variable', () => {
    expect(problems({ NODE_ENV: 'development' })).toEqual(['DATABASE_URL: is required'])
  })

  it('treats an empty variable as unset', () => {
    expect(problems({ ...BASE, PORT: '' })).toEqual([])
    expect(problems({ ...BASE, DATABASE_URL: '' })).toEqual(['DATABASE_URL: is required'])
  })

  it('does not ask for MASTER_KEY or PUBLIC_URL when only the database is needed', () => {
    expect(() => loadConfig({ DATABASE_URL: BASE.DATABASE_URL }, { databaseOnly: true })).not.toThrow()
  })

  it('requires MASTER_KEY and PUBLIC_URL in production', () => {
    expect(problems({ DATABASE_URL: BASE.DATABASE_URL })).toEqual([
      'MASTER_KEY: is required when NODE_ENV is production (32 random bytes in base64: openssl rand -base64 32)',
      'PUBLIC_URL: is required when NODE_ENV is production',
    ])
  })

  it.each([
    ['PORT', 'abc', 'PORT: must be a whole number'],
    ['PORT', '70000', 'PORT: must be at most 65535'],
    ['DATABASE_POOL_MAX', '0', 'DATABASE_POOL_MAX: must be at least 1'],
    ['DATABASE_BATCHES_IN_FLIGHT', '0', 'DATABASE_BATCHES_IN_FLIGHT: must be at least 1'],
    [
      'PLANES',
      'auth,payments',
      "PLANES: unknown plane 'payments' (expected a comma list of auth, admin, pim, break-glass)",
    ],
    ['DATABASE_URL', 'mysql://x/y', 'DATABASE_URL: must be a postgres:// or postgresql:// URL'],
    ['PUBLIC_URL', 'id.example.com', 'PUBLIC_URL: must be an absolute http(s) URL'],
    [
      'PUBLIC_URL',
      'https://id.example.com/?x=1',
      'PUBLIC_URL: must not carry credentials, a query or a fragment (it is the issuer)',
    ],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['ACCESS_LOG', 'yes', 'ACCESS_LOG: must be true or false'],
    [
      'MASTER_KEY',
      Buffer.alloc(16).toString('base64'),
      'MASTER_KEY: must be 32 random bytes in base64 (got 16 bytes); generate one with: openssl rand -base64 32',
    ],
  ])('rejects %s=%s with one line naming it', (name, value, message) => {
    expect(problems({ ...BASE, [name]: value })).toEqual([message])
  })
})

describe('the artifact with a bad configuration', () => {
  it('exits 2 with one line naming the variable and no stack trace', async () => {
    const r = await runArtifact(['serve'], { ...BASE, PORT: 'eighty' })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('zenoauth: configuration error: PORT: must be a whole number\n')
    expect(r.stdout).toBe('')
  })

  it('exits 2 when a required variable is missing', async () => {
    const r = await runArtifact(['serve'], { NODE_ENV: 'production' })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      'zenoauth: configuration error: DATABASE_URL: is required',
      'zenoauth: configuration error: MASTER_KEY: is required when NODE_ENV is production (32 random bytes in base64: openssl rand -base64 32)',
      'zenoauth: configuration error: PUBLIC_URL: is required when NODE_ENV is production',
    ])
  })

  it('asks migrate for the database only: a migration Job never holds the master key', async () => {
    const r = await runArtifact(['migrate'], { NODE_ENV: 'production' })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('zenoauth: configuration error: DATABASE_URL: is required\n')
  })

  it('exits 2 for an unknown command, with the usage', async () => {
    const r = await runArtifact(['frobnicate'], BASE)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("zenoauth: unknown command 'frobnicate'")
    expect(r.stderr).toContain('Usage: zenoauth <command>')
  })
})
