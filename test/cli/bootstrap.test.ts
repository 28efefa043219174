import { verify } from '@node-rs/argon2'
import { beforeAll, describe, expect, it } from 'vitest'
import { digestOf } from '../../shared/crypto/random.ts'
import { runArtifact } from '../support/artifact.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

let db: TestDatabase
const env = () => ({
  DATABASE_URL: db.appUrl,
  DATABASE_MIGRATION_URL: db.ownerUrl,
  MASTER_KEY: TEST_MASTER_KEY,
  PUBLIC_URL: 'http://localhost:8080',
})

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
})

describe('zenoauth bootstrap', () => {
  it('creates the first organization as the default, with an admin user and an admin client, as JSON', async () => {
    const r = await runArtifact(
      ['bootstrap', '--org', 'acme', '--admin-email', 'Admin@Acme.test', '--json'],
      env(),
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toEqual({
      organization: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        slug: 'acme',
        name: 'acme',
        issuer: 'http://localhost:8080',
        is_default: true,
      },
      admin_user: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'Admin@Acme.test',
        password: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      },
      admin_client: {
        client_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        scope:
          'applications:read applications:write users:read users:write keys:write organization:read organization:write',
      },
    })
    const [user] = await db.sql<{ password_hash: string; organization_id: string }>(
      'SELECT password_hash, organization_id FROM users WHERE id = $1',
      [out.admin_user.id],
    )
    expect(user!.organization_id).toBe(out.organization.id)
    expect(user!.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$/)
    expect(await verify(user!.password_hash, out.admin_user.password)).toBe(true)
    const [secret] = await db.sql<{ digest: Buffer }>(
      'SELECT s.digest FROM application_secrets s JOIN applications a ON a.id = s.application_id WHERE a.client_id = $1',
      [out.admin_client.client_id],
    )
    // Only the digest is stored, never the secret.
    expect(secret!.digest.equals(digestOf(out.admin_client.client_secret))).toBe(true)
    const audit = await db.sql<{ action: string }>(
      'SELECT action FROM audit_events WHERE organization_id = $1 ORDER BY action',
      [out.organization.id],
    )
    expect(audit.map((a) => a.action)).toEqual([
      'application.created',
      'organization.created',
      'user.created',
    ])
  })

  it('gives a later organization its own issuer on <slug>.<PUBLIC_URL host>', async () => {
    const r = await runArtifact(
      ['bootstrap', '--org', 'beta', '--admin-email', 'root@beta.test', '--json'],
      env(),
    )
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).organization).toMatchObject({
      slug: 'beta',
      issuer: 'http://beta.localhost:8080',
      is_default: false,
    })
  })

  it('takes an explicit domain', async () => {
    const r = await runArtifact(
      ['bootstrap', '--org', 'gamma', '--admin-email', 'g@g.test', '--domain', 'Login.Gamma.Test', '--json'],
      env(),
    )
    expect(JSON.parse(r.stdout).organization.issuer).toBe('http://login.gamma.test:8080')
  })

  it('fails clearly, writing nothing, when run twice for one slug', async () => {
    const before = await db.sql('SELECT count(*)::int AS n FROM users')
    const r = await runArtifact(
      ['bootstrap', '--org', 'acme', '--admin-email', 'other@acme.test', '--json'],
      env(),
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("zenoauth: bootstrap: organization 'acme' already exists\n")
    expect(r.stdout).toBe('')
    expect(await db.sql('SELECT count(*)::int AS n FROM users')).toEqual(before)
  })

  it('fails clearly for a domain another organization claims', async () => {
    const r = await runArtifact(
      ['bootstrap', '--org', 'delta', '--admin-email', 'd@d.test', '--domain', 'login.gamma.test'],
      env(),
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "zenoauth: bootstrap: domain 'login.gamma.test' is already claimed by another organization\n",
    )
  })

  it.each([
    [['--admin-email', 'a@b.c'], 2, 'zenoauth: bootstrap: --org <slug> is required\n'],
    [['--org', 'x'], 2, 'zenoauth: bootstrap: --admin-email <email> is required\n'],
    [
      ['--org', 'Bad_Slug', '--admin-email', 'a@b.c'],
      1,
      "zenoauth: bootstrap: --org 'Bad_Slug' is not a valid slug (lower-case letters, digits and inner hyphens, at most 63)\n",
    ],
    [
      ['--org', 'ok', '--admin-email', 'not-an-email'],
      1,
      "zenoauth: bootstrap: --admin-email 'not-an-email' is not an email address\n",
    ],
  ])('rejects %j', async (args, code, stderr) => {
    const r = await runArtifact(['bootstrap', ...args], env())
    expect(r.code).toBe(code)
    expect(r.stderr).toBe(stderr)
  })

  it('rejects an unknown option with exit code 2', async () => {
    const r = await runArtifact(['bootstrap', '--org', 'x', '--admin-email', 'a@b.c', '--frobnicate'], env())
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^zenoauth: Unknown option '--frobnicate'/)
  })

  it('prints the secrets for a person when not asked for JSON', async () => {
    const r = await runArtifact(['bootstrap', '--org', 'epsilon', '--admin-email', 'e@e.test'], env())
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^Organization 'epsilon' created\.\n {2}issuer {9}http:\/\/epsilon\.localhost:8080\n/,
    )
    expect(r.stdout).toContain('These secrets are shown once and stored only as hashes: keep them now.')
  })
})
