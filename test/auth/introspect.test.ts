import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { signCompact } from '../../shared/crypto/jws.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let other: Tenant
let resourceServer: AppJson
let service: AppJson

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
  other = await createTenant(t, 'globex', 'globex.example.test')
  resourceServer = await tenant.createApplication({ name: 'orders API', type: 'service' })
  service = await tenant.createApplication({
    name: 'client',
    type: 'service',
    allowed_scopes: ['orders:read'],
    access_token_ttl: 60,
  })
})
afterEach(() => {
  vi.useRealTimers()
})

async function tokenOf(app: AppJson, on: Tenant = tenant): Promise<string> {
  const res = await on.post(
    '/oauth/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(app.client_id, app.client_secret) },
  )
  return (await jsonOf(res)).access_token
}

const introspect = (token: string, on: Tenant = tenant, app = resourceServer) =>
  on.post('/oauth/introspect', { token }, { authorization: basic(app.client_id, app.client_secret) })

describe('POST /oauth/introspect (RFC 7662)', () => {
  it('answers an active token with its claims, never cached (§2.2)', async () => {
    const token = await tokenOf(service)
    const res = await introspect(token)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const { payload } = await tenant.verify(token)
    expect(await jsonOf(res)).toEqual({ active: true, token_type: 'Bearer', ...payload })
  })

  it('answers the same from its verification cache on repeat', async () => {
    const token = await tokenOf(service)
    const first = await jsonOf(await introspect(token))
    const second = await jsonOf(await introspect(token))
    expect(second).toEqual(first)
  })

  it('does not take a cached token for another that shares its header and signature', async () => {
    const token = await tokenOf(service)
    expect((await jsonOf(await introspect(token))).active).toBe(true)
    const [header, payload, signature] = token.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    const altered = Buffer.from(JSON.stringify({ ...claims, scope: 'everything' })).toString('base64url')
    expect(await jsonOf(await introspect(`${header}.${altered}.${signature}`))).toEqual({ active: false })
  })

  it('answers active: false for an expired token', async () => {
    const token = await tokenOf(service)
    expect((await jsonOf(await introspect(token))).active).toBe(true)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    expect(await jsonOf(await introspect(token))).toEqual({ active: false })
  })

  it('answers active: false for a revoked token', async () => {
    const token = await tokenOf(service)
    expect(
      (
        await tenant.post(
          '/oauth/revoke',
          { token },
          { authorization: basic(service.client_id, service.client_secret) },
        )
      ).status,
    ).toBe(200)
    expect(await jsonOf(await introspect(token))).toEqual({ active: false })
  })

  it('answers active: false for a token of another organization', async () => {
    const otherService = await other.createApplication({ name: 'theirs', type: 'service' })
    const foreign = await tokenOf(otherService, other)
    expect(await jsonOf(await introspect(foreign))).toEqual({ active: false })
    // ...which its own organization does know.
    const theirRs = await other.createApplication({ name: 'their rs', type: 'service' })
    expect((await jsonOf(await introspect(foreign, other, theirRs))).active).toBe(true)
    // Verified (and cached) there, it is still foreign here.
    expect(await jsonOf(await introspect(foreign))).toEqual({ active: false })
  })

  it('answers active: false for a token whose client was deleted', async () => {
    const doomed = await tenant.createApplication({ name: 'doomed', type: 'service' })
    const token = await tokenOf(doomed)
    expect((await tenant.admin('DELETE', `/api/v1/applications/${doomed.id}`)).status).toBe(204)
    expect(await jsonOf(await introspect(token))).toEqual({ active: false })
  })

  it.each([
    ['malformed', 'not-a-token'],
    ['unknown', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'],
    [
      'an unsigned JWT',
      `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`,
    ],
  ])('answers active: false for a %s token', async (_kind, token) => {
    expect(await jsonOf(await introspect(token))).toEqual({ active: false })
  })

  it('answers active: false for a token signed by a key it does not publish, whatever its kid and alg say', async () => {
    const genuine = await tokenOf(service)
    const header = JSON.parse(Buffer.from(genuine.split('.')[0]!, 'base64url').toString())
    const payload = JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString())
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = signCompact(
      { typ: 'at+jwt', kid: header.kid },
      { ...payload, scope: 'everything' },
      'EdDSA',
      privateKey,
    )
    expect(await jsonOf(await introspect(forged))).toEqual({ active: false })
    const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const confused = signCompact({ typ: 'at+jwt', kid: header.kid }, payload, 'ES256', ecKey)
    expect(await jsonOf(await introspect(confused))).toEqual({ active: false })
  })

  it('requires an authenticated, confidential client (§2.1)', async () => {
    const token = await tokenOf(service)
    const anonymous = await tenant.post('/oauth/introspect', { token })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="zenoauth"')
    const spa = await tenant.createApplication({
      name: 'spa',
      type: 'public',
      redirect_uris: ['https://spa.example.com/cb'],
    })
    const pub = await tenant.post('/oauth/introspect', { token, client_id: spa.client_id })
    expect(pub.status).toBe(401)
    expect((await jsonOf(pub)).error_description).toBe('public clients cannot introspect tokens')
  })

  it('names a missing token', async () => {
    const res = await tenant.post(
      '/oauth/introspect',
      {},
      { authorization: basic(resourceServer.client_id, resourceServer.client_secret) },
    )
    expect(await jsonOf(res)).toEqual({ error: 'invalid_request', error_description: '`token` is required' })
  })
})

describe('POST /oauth/revoke (RFC 7009)', () => {
  const revoke = (token: string, app = service) =>
    tenant.post(
      '/oauth/revoke',
      { token, token_type_hint: 'access_token' },
      { authorization: basic(app.client_id, app.client_secret) },
    )

  it('revokes an access token: 200, on the deny list until it expires, audited in the same transaction', async () => {
    const token = await tokenOf(service)
    const { payload } = await tenant.verify(token)
    const res = await revoke(token)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
    const [row] = await t.db.sql<{ expires_at: Date }>(
      'SELECT expires_at FROM revoked_access_tokens WHERE jti = $1',
      [payload.jti],
    )
    expect(row!.expires_at.getTime()).toBe(payload.exp! * 1000)
    const audit = await t.db.sql(
      'SELECT actor_id, result FROM audit_events WHERE action = $1 AND target_id = $2',
      ['token.revoked', payload.jti],
    )
    expect(audit).toEqual([{ actor_id: service.client_id, result: 'success' }])
  })

  it('answers 200 for an unknown, invalid or already revoked token (§2.2)', async () => {
    expect((await revoke('no-such-token')).status).toBe(200)
    const token = await tokenOf(service)
    expect((await revoke(token)).status).toBe(200)
    expect((await revoke(token)).status).toBe(200)
  })

  it('refuses to revoke a token issued to another client (§2.1)', async () => {
    const token = await tokenOf(service)
    const res = await revoke(token, resourceServer)
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'unauthorized_client',
      error_description: 'the token was not issued to this client',
    })
    expect((await jsonOf(await introspect(token))).active).toBe(true)
  })

  it('reaches a second process within about a second (LISTEN/NOTIFY)', async () => {
    const second = await createTestRuntime({ db: t.db })
    const token = await tokenOf(service)
    const viaSecond = () =>
      second.app.request('/oauth/introspect', {
        method: 'POST',
        headers: {
          host: tenant.host,
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(resourceServer.client_id, resourceServer.client_secret),
        },
        body: new URLSearchParams({ token }).toString(),
      })
    expect((await jsonOf(await viaSecond())).active).toBe(true)
    await vi.waitFor(() => expect(second.runtime.bus.connected).toBe(true), { timeout: 5000, interval: 20 })
    expect((await revoke(token)).status).toBe(200)
    await vi.waitFor(async () => expect((await jsonOf(await viaSecond())).active).toBe(false), {
      timeout: 1500,
      interval: 20,
    })
  })
})
