/**
 * The token service driven by independent clients (openid-client, oauth4webapi, jose) over
 * real HTTP against a server started by the test.
 */
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import { beforeAll, describe, expect, it } from 'vitest'
import { type AppJson, createTenant, type Tenant } from '../support/oauth.ts'
import { createServedRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let issuer: URL
let tenant: Tenant
let basicApp: AppJson
let postApp: AppJson
let jwtApp: AppJson
let jwtKeys: Awaited<ReturnType<typeof generateKeyPair>>
const insecure = { execute: [client.allowInsecureRequests] }

beforeAll(async () => {
  t = await createServedRuntime()
  issuer = new URL(t.config.publicUrl)
  tenant = await createTenant(t, 'acme')
  const common = {
    type: 'service',
    allowed_scopes: ['orders:read', 'orders:write'],
    allowed_audiences: ['https://orders.example.com'],
  }
  basicApp = await tenant.createApplication({ name: 'basic', ...common })
  postApp = await tenant.createApplication({
    name: 'post',
    ...common,
    token_endpoint_auth_method: 'client_secret_post',
  })
  jwtKeys = await generateKeyPair('ES256')
  jwtApp = await tenant.createApplication({
    name: 'jwt',
    ...common,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...(await exportJWK(jwtKeys.publicKey)), kid: 'rp-key', alg: 'ES256' }] },
  })
})

describe('openid-client', () => {
  const configFor = (app: AppJson, auth: client.ClientAuth) =>
    client.discovery(issuer, app.client_id, undefined, auth, insecure)

  it('discovers the provider (OpenID Connect Discovery)', async () => {
    const config = await configFor(basicApp, client.ClientSecretBasic(basicApp.client_secret))
    expect(config.serverMetadata().issuer).toBe(issuer.href.replace(/\/$/, ''))
    expect(config.serverMetadata().token_endpoint).toBe(`${t.config.publicUrl}/oauth/token`)
  })

  it.each([
    ['client_secret_basic', () => configFor(basicApp, client.ClientSecretBasic(basicApp.client_secret))],
    ['client_secret_post', () => configFor(postApp, client.ClientSecretPost(postApp.client_secret))],
    [
      'private_key_jwt',
      () => configFor(jwtApp, client.PrivateKeyJwt({ key: jwtKeys.privateKey, kid: 'rp-key' })),
    ],
  ])('gets a client-credentials token with %s, then introspects and revokes it', async (_method, config) => {
    const c = await config()
    const tokens = await client.clientCredentialsGrant(c, {
      scope: 'orders:read',
      resource: 'https://orders.example.com',
    })
    expect(tokens.token_type).toBe('bearer')
    expect(tokens.scope).toBe('orders:read')
    const active = await client.tokenIntrospection(c, tokens.access_token)
    expect(active).toMatchObject({ active: true, scope: 'orders:read', aud: 'https://orders.example.com' })
    await client.tokenRevocation(c, tokens.access_token)
    expect((await client.tokenIntrospection(c, tokens.access_token)).active).toBe(false)
  })
})

describe('oauth4webapi', () => {
  let as: oauth.AuthorizationServer
  beforeAll(async () => {
    const response = await oauth.discoveryRequest(issuer, {
      algorithm: 'oauth2',
      [oauth.allowInsecureRequests]: true,
    })
    as = await oauth.processDiscoveryResponse(issuer, response)
  })

  it('discovers RFC 8414 metadata, gets a token, and validates it as an RFC 9068 access token', async () => {
    const rp: oauth.Client = { client_id: basicApp.client_id }
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      rp,
      oauth.ClientSecretBasic(basicApp.client_secret),
      new URLSearchParams({ scope: 'orders:write', resource: 'https://orders.example.com' }),
      { [oauth.allowInsecureRequests]: true },
    )
    const result = await oauth.processClientCredentialsResponse(as, rp, response)
    // A resource server's view: the JWT profile's checks (typ, iss, aud, exp, signature via jwks_uri).
    const request = new Request('https://orders.example.com/orders', {
      headers: { authorization: `Bearer ${result.access_token}` },
    })
    const claims = await oauth.validateJwtAccessToken(as, request, 'https://orders.example.com', {
      [oauth.allowInsecureRequests]: true,
    })
    expect(claims).toMatchObject({
      iss: as.issuer,
      client_id: basicApp.client_id,
      sub: basicApp.client_id,
      scope: 'orders:write',
    })
  })

  it('introspects and revokes through its own request builders', async () => {
    const rp: oauth.Client = { client_id: postApp.client_id }
    const auth = oauth.ClientSecretPost(postApp.client_secret)
    const options = { [oauth.allowInsecureRequests]: true }
    const tokenResponse = await oauth.clientCredentialsGrantRequest(
      as,
      rp,
      auth,
      new URLSearchParams(),
      options,
    )
    const { access_token } = await oauth.processClientCredentialsResponse(as, rp, tokenResponse)
    const introspection = await oauth.processIntrospectionResponse(
      as,
      rp,
      await oauth.introspectionRequest(as, rp, auth, access_token, options),
    )
    expect(introspection.active).toBe(true)
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, rp, auth, access_token, options))
    const after = await oauth.processIntrospectionResponse(
      as,
      rp,
      await oauth.introspectionRequest(as, rp, auth, access_token, options),
    )
    expect(after.active).toBe(false)
  })
})

describe('jose', () => {
  it('verifies an access token against the published JWKS (createRemoteJWKSet)', async () => {
    const c = await client.discovery(
      issuer,
      basicApp.client_id,
      undefined,
      client.ClientSecretBasic(basicApp.client_secret),
      insecure,
    )
    const { access_token } = await client.clientCredentialsGrant(c)
    const jwks = createRemoteJWKSet(new URL(`${t.config.publicUrl}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(access_token, jwks, {
      issuer: t.config.publicUrl,
      audience: 'https://orders.example.com',
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    })
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload.client_id).toBe(basicApp.client_id)
  })
})
