/**
 * Every route of the route table, over real HTTP, against input no client should send: a
 * NUL character or a lone surrogate in a parameter, a path segment or a JSON string,
 * malformed JSON, JSON nested thousands deep, the wrong media type, repeated parameters. Whatever the route, the answer
 * is a 4xx (or the route's ordinary answer) in the route's own error shape: never a 5xx, never
 * a stack trace, and nothing the server logs as an error.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../../functions/routes.gen.ts'
import { dialectOfPath, toHttpError } from '../../../shared/http/serialize-error.ts'
import { createLogger } from '../../../shared/log.ts'
import { jsonOf } from '../../support/http.ts'
import { basic, createTenant, type Tenant } from '../../support/oauth.ts'
import { createServedRuntime, LogCapture, type TestRuntime } from '../../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let base: string
let bearer: string
let clientBasic: string

beforeAll(async () => {
  t = await createServedRuntime()
  base = t.config.publicUrl
  tenant = await createTenant(t, 'acme')
  bearer = `Bearer ${await tenant.adminToken()}`
  const c = tenant.bootstrap.admin_client
  clientBasic = basic(c.client_id, c.client_secret)
})

const FORM = 'application/x-www-form-urlencoded'
const JSON_TYPE = 'application/json'

/** Path segments: ordinary, a NUL, an encoded lone surrogate, one far too long, a nil UUID. */
const SEGMENTS = ['x', '%00', '%ED%A0%80', 'a'.repeat(300), '00000000-0000-0000-0000-000000000000']

const QUERIES = [
  '?client_id=%00&response_type=code&redirect_uri=https%3A%2F%2Frp.test%2Fcb&scope=openid&state=%00',
  '?email=a%00b&cursor=%FF%FE&limit=-1',
  '?%00=1',
  '?id_token_hint=a.b.c&prompt=none&post_logout_redirect_uri=%00',
]

const nul = (s: string) => `${s}\\u0000`
/** Bodies as [body, content type]; the JSON ones use the field names the admin API and DCR read. */
const BODIES: [string, string][] = [
  ['grant_type=client_credentials&client_id=%00&token=a%00&email=a%00b&password=%00&scope=a%00', FORM],
  ['grant_type=client_credentials&grant_type=client_credentials', FORM],
  ['%00=1', FORM],
  ['%C3%A9=1&%C3%A9=2&grant_type=client_credentials&scope=%22admin%22', FORM],
  ['{', JSON_TYPE],
  ['[]', JSON_TYPE],
  [
    `{"name":"${nul('n')}","email":"${nul('e')}@x.test","client_name":"${nul('c')}","redirect_uris":["https://rp.test/${nul('cb')}"],"password":"${nul('p'.repeat(16))}","type":"service","allowed_scopes":["${nul('s')}"]}`,
    JSON_TYPE,
  ],
  [
    '{"name":"\\ud800","email":"a\\ud800@x.test","client_name":"\\udc00x","redirect_uris":["https://rp.test/\\ud800"],"type":"service"}',
    JSON_TYPE,
  ],
  [`{"${nul('k')}":1}`, JSON_TYPE],
  [`{"name":${'['.repeat(5000)}${']'.repeat(5000)}}`, JSON_TYPE],
  ['<a/>', 'application/xml'],
]

/** The content type a route's errors come in. */
const ERROR_TYPES = {
  oauth: 'application/json',
  problem: 'application/problem+json',
  scim: 'application/scim+json',
  html: 'text/html; charset=utf-8',
} as const

interface Sent {
  readonly label: string
  readonly status: number
  readonly contentType: string | null
  readonly body: string
}

async function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Sent> {
  const res = await fetch(url, { method, headers, body, redirect: 'manual' })
  return {
    label: `${method} ${url.slice(base.length, base.length + 120)} ${headers['content-type'] ?? ''} ${body?.slice(0, 60) ?? ''}`,
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
  }
}

describe('malformed input on every route', () => {
  it('gets a 4xx in the route’s error shape, never a 5xx, a stack trace or an error in the log', async () => {
    const before = t.logs.records.length
    const answers: { sent: Sent; dialect: keyof typeof ERROR_TYPES }[] = []
    for (const entry of ROUTES) {
      const dialect = entry.fn.errors ?? dialectOfPath(entry.path)
      const paths = entry.path.includes(':')
        ? SEGMENTS.map((s) => entry.path.replace(/:[A-Za-z]+/g, s))
        : [entry.path]
      for (const method of entry.methods) {
        const hasBody = method !== 'GET' && method !== 'DELETE'
        for (const path of paths) {
          for (const authorization of [bearer, clientBasic]) {
            const headers = { authorization, origin: 'https://elsewhere.test' }
            for (const query of QUERIES)
              answers.push({ sent: await send(method, base + path + query, headers), dialect })
            if (!hasBody) continue
            for (const [body, type] of BODIES) {
              answers.push({
                sent: await send(method, base + path, { ...headers, 'content-type': type }, body),
                dialect,
              })
            }
          }
        }
      }
    }
    expect(answers.length).toBeGreaterThan(1000)
    const failures = answers.flatMap(({ sent, dialect }) => {
      const problems: string[] = []
      if (sent.status >= 500) problems.push(`status ${sent.status}`)
      if (/\bat \S+ \(|\.(ts|js|cjs|mjs):\d+/.test(sent.body)) problems.push('a stack trace in the body')
      if (sent.status >= 400 && sent.contentType !== ERROR_TYPES[dialect])
        problems.push(`content type ${sent.contentType}, not ${ERROR_TYPES[dialect]}`)
      // RFC 6749 §5.2: error_description is printable ASCII without '"' and '\'.
      if (sent.status >= 400 && dialect === 'oauth') {
        const description = JSON.parse(sent.body).error_description
        if (typeof description !== 'string' || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/.test(description))
          problems.push(`error_description ${JSON.stringify(description)}`)
      }
      return problems.length ? [`${sent.label} → ${problems.join(', ')}`] : []
    })
    expect(failures).toEqual([])
    // Every kind of 4xx above was reached, not just one early refusal.
    const statuses = new Set(answers.map((a) => a.sent.status))
    for (const status of [400, 401, 404, 415]) expect(statuses).toContain(status)
    const errors = t.logs.records.slice(before).filter((r) => r.level === 'error')
    expect(errors.map((r) => r.msg)).toEqual([])
  }, 120_000)

  it('names the field that holds a NUL, a lone surrogate or nesting too deep, and writes nothing', async () => {
    const list = async () => (await jsonOf(await tenant.admin('GET', '/api/v1/users'))).data as unknown[]
    const count = (await list()).length
    const surrogate = await tenant.admin('POST', '/api/v1/users', {
      email: 'lone@acme.test',
      name: 'Ada \ud800',
    })
    expect(surrogate.status).toBe(400)
    expect(surrogate.headers.get('content-type')).toBe('application/problem+json')
    expect(await jsonOf(surrogate)).toMatchObject({
      detail: '`name` must be well-formed Unicode (no lone surrogate)',
      errors: [{ pointer: '/name' }],
    })
    const withNul = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'a\u0000' },
      {
        authorization: clientBasic,
      },
    )
    expect(withNul.status).toBe(400)
    expect(await jsonOf(withNul)).toEqual({
      error: 'invalid_request',
      error_description: '`scope` must not contain a NUL character',
    })
    const deep = await tenant.admin('POST', '/api/v1/users', {
      email: 'deep@acme.test',
      name: JSON.parse(`${'['.repeat(33)}${']'.repeat(33)}`),
    })
    expect(deep.status).toBe(400)
    expect(await jsonOf(deep)).toMatchObject({
      detail: `\`name${'[0]'.repeat(31)}\` nests deeper than 32 levels`,
      errors: [{ pointer: `/name${'/0'.repeat(31)}` }],
    })
    // 32 levels are walked and then refused by the schema, as any wrong type is.
    const deepest = await tenant.admin('POST', '/api/v1/users', {
      email: 'deep@acme.test',
      name: JSON.parse(`${'['.repeat(31)}${']'.repeat(31)}`),
    })
    expect(deepest.status).toBe(400)
    expect((await jsonOf(deepest)).detail).not.toContain('nests deeper')
    expect((await list()).length).toBe(count)
    // A path segment no stored value can equal names nothing.
    const missing = await tenant.admin('GET', '/api/v1/users/%00')
    expect(missing.status).toBe(404)
  })

  it('answers a value the database refuses (SQLSTATE class 22) as the client’s 400, logged', async () => {
    const err = await t.db.sql("SELECT 'not a uuid'::uuid").catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('22P02')
    const logs = new LogCapture()
    const mapped = toHttpError(err, () => createLogger({ level: 'info', destination: logs }))
    expect(mapped.status).toBe(400)
    expect(mapped.expose).toBe(true)
    expect(logs.records.map((r) => [r.level, r.msg])).toEqual([
      ['error', 'request value refused by the database'],
    ])
    // Anything else stays a 500 that says nothing of its cause.
    const other = toHttpError(new Error('boom'), () => createLogger({ level: 'info', destination: logs }))
    expect(other.status).toBe(500)
  })

  it('answers a transaction rolled back for a conflict (SQLSTATE class 40) as a 503 to retry', async () => {
    const err = await t.db
      .sql("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = 'deadlock_detected'; END $$")
      .catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('40P01')
    const logs = new LogCapture()
    const mapped = toHttpError(err, () => createLogger({ level: 'info', destination: logs }))
    expect([mapped.status, mapped.headers]).toEqual([503, { 'retry-after': '1' }])
    expect(mapped.message).not.toContain('deadlock')
    expect(logs.records.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'transaction rolled back for a conflict with another'],
    ])
  })
})
