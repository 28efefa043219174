import { beforeAll, describe, expect, it, vi } from 'vitest'
import { KeyDecryptionError, openPrivateKey, sealPrivateKey } from '../../shared/crypto/key-encryption.ts'
import { maintainSigningKeys } from '../../shared/keys/rotation.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let service: AppJson

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
  service = await tenant.createApplication({ name: 'svc', type: 'service' })
})

const token = async () =>
  (
    await jsonOf(
      await tenant.post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(service.client_id, service.client_secret) },
      ),
    )
  ).access_token as string
const kidOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string
const states = () =>
  t.db.sql<{ kid: string; alg: string; state: string; sealed: boolean }>(
    "SELECT kid, alg, state, private_key IS NOT NULL AS sealed FROM signing_keys k JOIN organizations o ON o.id = k.organization_id WHERE o.slug = 'acme' ORDER BY k.created_at",
  )
const introspect = async (jwt: string) =>
  (
    await jsonOf(
      await tenant.post(
        '/oauth/introspect',
        { token: jwt },
        { authorization: basic(service.client_id, service.client_secret) },
      ),
    )
  ).active

describe('signing keys', () => {
  it('are created on first use: a current and a next key per algorithm, private keys sealed', async () => {
    await token()
    const keys = await states()
    expect(keys).toHaveLength(6)
    for (const alg of ['EdDSA', 'ES256', 'RS256']) {
      expect(
        keys
          .filter((k) => k.alg === alg)
          .map((k) => k.state)
          .sort(),
      ).toEqual(['current', 'next'])
    }
    const [raw] = await t.db.sql<{ private_key: Buffer }>(
      "SELECT private_key FROM signing_keys WHERE alg = 'EdDSA' AND state = 'current'",
    )
    // Sealed: not a DER PKCS #8 structure (which starts 0x30).
    expect(raw!.private_key[0] === 0x30 && raw!.private_key.includes(Buffer.from('2b6570', 'hex'))).toBe(
      false,
    )
  })

  it('rotate on POST /api/v1/keys/rotate: next signs, the old key stays published and still verifies', async () => {
    const before = await token()
    const oldKid = kidOf(before)
    const nextKid = (await states()).find((k) => k.alg === 'EdDSA' && k.state === 'next')!.kid
    const res = await tenant.admin('POST', '/api/v1/keys/rotate', { alg: 'EdDSA' })
    expect(res.status).toBe(200)
    const body = await jsonOf(res)
    expect(body).toEqual({ rotated: [{ alg: 'EdDSA', current_kid: nextKid, next_kid: expect.any(String) }] })
    const after = await token()
    expect(kidOf(after)).toBe(nextKid)
    const jwks = (await jsonOf(await t.app.request('/.well-known/jwks.json'))).keys.map(
      (k: { kid: string }) => k.kid,
    )
    expect(jwks).toEqual(expect.arrayContaining([oldKid, nextKid, body.rotated[0].next_kid]))
    expect(await tenant.verify(before)).toBeDefined()
    expect(await introspect(before)).toBe(true)
    expect((await states()).find((k) => k.kid === oldKid)).toMatchObject({ state: 'previous', sealed: true })
    const audit = await t.db.sql("SELECT actor_id FROM audit_events WHERE action = 'keys.rotated'")
    expect(audit).toEqual([{ actor_id: tenant.bootstrap.admin_client.client_id }])
  })

  it('retire a previous key once every token it signed has expired: unpublished, private key erased', async () => {
    const before = await token()
    await tenant.admin('POST', '/api/v1/keys/rotate', { alg: 'EdDSA' })
    await t.db.sql("UPDATE signing_keys SET publish_until = now() - interval '1 second' WHERE kid = $1", [
      kidOf(before),
    ])
    const org = await t.runtime.organizations.resolve('localhost:8080')
    const { retired } = await maintainSigningKeys(
      t.runtime.db,
      t.config.masterKey,
      org.id,
      t.config.keyRotationPeriodMs,
    )
    expect(retired).toEqual([kidOf(before)])
    expect((await states()).find((k) => k.kid === kidOf(before))).toMatchObject({
      state: 'retired',
      sealed: false,
    })
    const jwks = (await jsonOf(await t.app.request('/.well-known/jwks.json'))).keys.map(
      (k: { kid: string }) => k.kid,
    )
    expect(jwks).not.toContain(kidOf(before))
    expect(await introspect(before)).toBe(false)
  })

  it('rotate on schedule once the current key has signed for the rotation period', async () => {
    const org = await t.runtime.organizations.resolve('localhost:8080')
    const idle = await maintainSigningKeys(
      t.runtime.db,
      t.config.masterKey,
      org.id,
      t.config.keyRotationPeriodMs,
    )
    expect(idle.rotated).toEqual([])
    await t.db.sql(
      "UPDATE signing_keys SET activated_at = now() - interval '31 days' WHERE alg = 'RS256' AND state = 'current'",
    )
    const due = await maintainSigningKeys(
      t.runtime.db,
      t.config.masterKey,
      org.id,
      t.config.keyRotationPeriodMs,
    )
    expect(due.rotated.map((r) => r.alg)).toEqual(['RS256'])
    const audit = await t.db.sql(
      "SELECT actor_type, actor_id FROM audit_events WHERE action = 'keys.rotated' AND actor_type = 'system'",
    )
    expect(audit).toEqual([{ actor_type: 'system', actor_id: 'key-rotation' }])
  })

  it('refuse to sign with a MASTER_KEY that did not seal them (fail closed, generic 500)', async () => {
    const wrongKey = await createTestRuntime({
      db: t.db,
      env: { MASTER_KEY: Buffer.alloc(32, 9).toString('base64') },
    })
    const res = await wrongKey.app.request('/oauth/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(service.client_id, service.client_secret),
      },
      body: 'grant_type=client_credentials',
    })
    expect(res.status).toBe(500)
    expect(await jsonOf(res)).toEqual({ error: 'server_error', error_description: 'Internal Server Error' })
    expect(wrongKey.logs.text()).toContain('does not decrypt: MASTER_KEY is not the one that encrypted it')
  })
})

describe('sealed private keys', () => {
  const master = Buffer.alloc(32, 1)
  const secret = Buffer.from('pkcs8 bytes')

  it('open with the same MASTER_KEY, organization and kid', () => {
    expect(
      openPrivateKey(master, 'org-a', 'kid-1', sealPrivateKey(master, 'org-a', 'kid-1', secret)),
    ).toEqual(secret)
  })

  it.each([
    ['another organization', 'org-b', 'kid-1', master],
    ['another kid', 'org-a', 'kid-2', master],
    ['another MASTER_KEY', 'org-a', 'kid-1', Buffer.alloc(32, 2)],
  ])('do not open for %s', (_what, org, kid, key) => {
    const sealed = sealPrivateKey(master, 'org-a', 'kid-1', secret)
    expect(() => openPrivateKey(key, org, kid, sealed)).toThrow(KeyDecryptionError)
  })

  it('do not open once altered', () => {
    const sealed = sealPrivateKey(master, 'org-a', 'kid-1', secret)
    sealed[14]! ^= 1
    expect(() => openPrivateKey(master, 'org-a', 'kid-1', sealed)).toThrow(KeyDecryptionError)
  })
})

describe('without the LISTEN connection', () => {
  it('picks up a rotation within the cache TTL', async () => {
    const deaf = await createTestRuntime({
      db: t.db,
      env: {
        DATABASE_LISTEN_URL: 'postgres://nobody:x@127.0.0.1:1/none',
        CACHE_TTL_MS: '300',
        DATABASE_CONNECT_TIMEOUT_MS: '200',
      },
    })
    const kids = async () =>
      (await jsonOf(await deaf.app.request('/.well-known/jwks.json'))).keys.map((k: { kid: string }) => k.kid)
    await kids()
    const { rotated } = await jsonOf(await tenant.admin('POST', '/api/v1/keys/rotate', { alg: 'ES256' }))
    expect(deaf.runtime.bus.connected).toBe(false)
    const started = performance.now()
    await vi.waitFor(async () => expect(await kids()).toContain(rotated[0].next_kid), {
      timeout: 2000,
      interval: 25,
    })
    expect(performance.now() - started).toBeLessThan(1500)
  })
})
