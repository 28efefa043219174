import { beforeAll, describe, expect, it } from 'vitest'
import { jsonOf } from '../support/http.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let main: Tenant
let globex: Tenant

beforeAll(async () => {
  t = await createTestRuntime()
  main = await createTenant(t, 'main')
  globex = await createTenant(t, 'globex', 'login.globex.test')
})

const get = (path: string, host: string, headers: Record<string, string> = {}) =>
  t.app.request(path, { headers: { host, ...headers } })

describe.each(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])(
  'GET %s',
  (path) => {
    it('describes the organization as its own issuer, exactly (RFC 8414 §3.3)', async () => {
      const mainDoc = await jsonOf(await get(path, main.host))
      const globexDoc = await jsonOf(await get(path, globex.host))
      expect(mainDoc.issuer).toBe('http://localhost:8080')
      expect(globexDoc.issuer).toBe('http://login.globex.test:8080')
      expect(globexDoc.token_endpoint).toBe('http://login.globex.test:8080/oauth/token')
    })

    it('lists only what is supported', async () => {
      const doc = await jsonOf(await get(path, main.host))
      expect(doc).toMatchObject({
        token_endpoint: 'http://localhost:8080/oauth/token',
        jwks_uri: 'http://localhost:8080/.well-known/jwks.json',
        introspection_endpoint: 'http://localhost:8080/oauth/introspect',
        revocation_endpoint: 'http://localhost:8080/oauth/revoke',
        authorization_endpoint: 'http://localhost:8080/oauth/authorize',
        pushed_authorization_request_endpoint: 'http://localhost:8080/oauth/par',
        registration_endpoint: 'http://localhost:8080/oauth/register',
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'form_post'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'none',
        ],
        token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
      })
      // Every endpoint listed answers on this server.
      const gets = ['jwks_uri', 'authorization_endpoint']
      const posts = [
        'token_endpoint',
        'introspection_endpoint',
        'revocation_endpoint',
        'pushed_authorization_request_endpoint',
      ]
      for (const key of [...gets, ...posts]) {
        const url = new URL(doc[key])
        const res = await t.app.request(url.pathname, {
          method: gets.includes(key) ? 'GET' : 'POST',
          headers: { host: url.host },
        })
        expect(res.status, key).not.toBe(404)
      }
    })

    it('is cacheable, with an ETag that answers 304', async () => {
      const res = await get(path, main.host)
      expect(res.headers.get('cache-control')).toBe('public, max-age=300')
      const etag = res.headers.get('etag')!
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
      const again = await get(path, main.host, { 'if-none-match': etag })
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
    })

    it("advertises the authorization details types its applications accept, and no other organization's (RFC 9396 §10)", async () => {
      const types = async (host: string) =>
        (await jsonOf(await get(path, host))).authorization_details_types_supported
      const before = await get(path, globex.host)
      expect((await jsonOf(before)).authorization_details_types_supported).toBeUndefined()
      const created = await globex.createApplication({
        name: `Payments ${path}`,
        type: 'confidential',
        redirect_uris: ['https://pay.example.com/cb'],
        allowed_scopes: ['openid'],
        authorization_details_types: ['payment_initiation', 'account_information'],
      })
      expect(await types(globex.host)).toEqual(['account_information', 'payment_initiation'])
      expect(await types(main.host)).toBeUndefined()
      // A changed document has a new ETag: a cached copy is not confirmed as current.
      const after = await get(path, globex.host, { 'if-none-match': before.headers.get('etag')! })
      expect(after.status).toBe(200)
      const removed = await globex.admin('DELETE', `/api/v1/applications/${created.id}`)
      expect(removed.status).toBe(204)
      expect(await types(globex.host)).toBeUndefined()
    })
  },
)

describe('GET /.well-known/openid-configuration', () => {
  it('adds the OpenID Provider fields', async () => {
    const doc = await jsonOf(await get('/.well-known/openid-configuration', main.host))
    expect(doc).toMatchObject({
      userinfo_endpoint: 'http://localhost:8080/oauth/userinfo',
      end_session_endpoint: 'http://localhost:8080/oauth/logout',
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['EdDSA', 'ES256', 'RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
      prompt_values_supported: ['none', 'login', 'consent'],
    })
  })
})

describe('GET /.well-known/jwks.json', () => {
  it('publishes the current and next key of each algorithm, public parts only, cacheable', async () => {
    const res = await get('/.well-known/jwks.json', main.host)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    const { keys } = await jsonOf(res)
    expect(keys).toHaveLength(6)
    expect(keys.map((k: { alg: string }) => k.alg).sort()).toEqual([
      'ES256',
      'ES256',
      'EdDSA',
      'EdDSA',
      'RS256',
      'RS256',
    ])
    for (const key of keys) {
      expect(key).toMatchObject({ use: 'sig', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret)
    }
  })

  it('gives each organization its own keys', async () => {
    const a = (await jsonOf(await get('/.well-known/jwks.json', main.host))).keys.map(
      (k: { kid: string }) => k.kid,
    )
    const b = (await jsonOf(await get('/.well-known/jwks.json', globex.host))).keys.map(
      (k: { kid: string }) => k.kid,
    )
    expect(a.filter((kid: string) => b.includes(kid))).toEqual([])
  })
})
