/** An organization with its admin client, and helpers to call the token service and admin API. */
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose'
import { type BootstrapResult, bootstrapOrganization } from '../../shared/bootstrap.ts'
import type { App } from '../../shared/http/app.ts'
import { jsonOf } from './http.ts'
import type { TestRuntime } from './runtime.ts'

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

export function form(params: Record<string, string | string[]>): string {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const item of [v].flat()) body.append(k, item)
  return body.toString()
}

/** An application as the admin API returns it; tests read its members freely. */
// biome-ignore lint/suspicious/noExplicitAny: JSON read by assertions.
export type AppJson = Record<string, any>

export interface Tenant {
  readonly bootstrap: BootstrapResult
  readonly host: string
  readonly issuer: string
  /** POST a form to a path of this tenant. */
  post(
    path: string,
    params: Record<string, string | string[]>,
    headers?: Record<string, string>,
  ): Promise<Response>
  /** A fresh admin access token (all admin scopes, or those asked). */
  adminToken(scope?: string): Promise<string>
  /** A JSON request to the admin API with an admin token. */
  admin(method: string, path: string, body?: unknown, token?: string): Promise<Response>
  /** Creates an application through the admin API; returns its JSON (with client_secret). */
  createApplication(body: Record<string, unknown>): Promise<AppJson>
  /** Verifies a JWT against this tenant's published JWKS. */
  verify(
    token: string,
    typ?: string,
  ): Promise<{ payload: JWTPayload; protectedHeader: Record<string, unknown> }>
}

/** Bootstraps an organization (the default one unless `domain` is given) on `t`. */
export async function createTenant(t: TestRuntime, slug: string, domain?: string): Promise<Tenant> {
  const bootstrap = await bootstrapOrganization(t.runtime.db, t.config.publicUrl, {
    slug,
    adminEmail: `admin@${slug}.test`,
    ...(domain ? { domain } : {}),
  })
  const host = domain ?? new URL(t.config.publicUrl).host
  const app: App = t.app
  const post = async (
    path: string,
    params: Record<string, string | string[]>,
    headers: Record<string, string> = {},
  ) =>
    app.request(path, {
      method: 'POST',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: form(params),
    })
  const adminToken = async (scope?: string) => {
    const { admin_client: c } = bootstrap
    const res = await post(
      '/oauth/token',
      { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
      { authorization: basic(c.client_id, c.client_secret) },
    )
    const body = await jsonOf(res)
    if (res.status !== 200) throw new Error(`admin token: ${res.status} ${JSON.stringify(body)}`)
    return body.access_token as string
  }
  const admin = async (method: string, path: string, body?: unknown, token?: string) =>
    app.request(path, {
      method,
      headers: {
        host,
        authorization: `Bearer ${token ?? (await adminToken())}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  return {
    bootstrap,
    host,
    issuer: bootstrap.organization.issuer,
    post,
    adminToken,
    admin,
    async createApplication(body) {
      const res = await admin('POST', '/api/v1/applications', body)
      const json = await jsonOf(res)
      if (res.status !== 201) throw new Error(`create application: ${res.status} ${JSON.stringify(json)}`)
      return json
    },
    async verify(token, typ = 'at+jwt') {
      const jwks = await jsonOf(await app.request('/.well-known/jwks.json', { headers: { host } }))
      return jwtVerify(token, createLocalJWKSet(jwks as never), {
        issuer: bootstrap.organization.issuer,
        typ,
      })
    },
  }
}
