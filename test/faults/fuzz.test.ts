/**
 * A bounded corpus of malformed requests against every route of the route table (new routes
 * join by themselves), over real HTTP: bodies, content types, headers, hosts, query strings,
 * path parameters and oversized values. No answer may be a 5xx, lack a request id, or leak a
 * stack trace, SQL or a file path.
 */
import { Agent, request } from 'node:http'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../functions/routes.gen.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createServedRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let port: number
let adminToken: string
const agent = new Agent({ keepAlive: true, maxSockets: 8 })

beforeAll(async () => {
  t = await createServedRuntime()
  tenant = await createTenant(t, 'acme')
  port = Number(new URL(t.config.publicUrl).port)
  adminToken = await tenant.adminToken()
})

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Framed with a Content-Length whatever the method (Node's client frames no other way for
    // DELETE or OPTIONS); broken framing is http-edges.test.ts's business.
    const framed =
      body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    const req = request({ host: '127.0.0.1', port, method, path, headers: framed, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
const big = (n: number) => 'x'.repeat(n)

/** Bodies, each with the content type it claims. */
const BODIES: [string, string | Buffer][] = [
  ['application/json', '{'],
  ['application/json', '[]'],
  ['application/json', 'null'],
  ['application/json', '"text"'],
  ['application/json', '{"email":{"$gt":""},"name":[1,2],"password":null}'],
  ['application/json', `{"a":${deep(5000)}}`],
  ['application/json', '{"name":"\\u0000","email":"a\\ud800@x.test"}'],
  ['application/json', `{"name":"${big(300_000)}"}`],
  ['application/json', '{"access_token_ttl":1e309,"redirect_uris":["javascript:alert(1)"],"jwks_uri":"::"}'],
  ['application/x-www-form-urlencoded', 'grant_type=%ZZ&scope=%&a=%E0%A4%A'],
  ['application/x-www-form-urlencoded', 'grant_type=client_credentials&grant_type=password'],
  ['application/x-www-form-urlencoded', `token=${big(100_000)}&state=${big(100_000)}`],
  ['application/x-www-form-urlencoded', 'client_id=\u0000&redirect_uri=%00&code=%F0%9F'],
  ['text/plain', 'hello'],
  ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--'],
  ['application/json; charset=utf-16', Buffer.from([0xff, 0xfe, 0x7b, 0x00])],
  ['', Buffer.from([0xc3, 0x28, 0xa0, 0xa1])],
]

const HEADER_SETS: Record<string, string>[] = [
  {},
  { authorization: 'Bearer' },
  { authorization: 'Bearer not.a.jwt' },
  { authorization: `Bearer ${big(6000)}` },
  { authorization: 'Basic !!!' },
  { authorization: `Basic ${Buffer.from(':').toString('base64')}` },
  { authorization: `Basic ${Buffer.from('%ZZ:%').toString('base64')}` },
  { cookie: `zenoauth-session=${big(4000)}; zenoauth-csrf=%%%` },
  { 'x-request-id': `\u00ff${big(300)}` },
  { 'x-forwarded-for': 'not an address, ::::, 999.1.1.1' },
  { accept: '*/*;q=abc', 'accept-language': big(2000), origin: 'null', 'if-none-match': '"'.repeat(50) },
]

const HOSTS = (base: string) => [base, base.toUpperCase(), 'nobody.example', '[::1]', `${base}.`, '']

/** Path parameters to put in `:id` and the like. */
const PARAMS = [
  '00000000-0000-4000-8000-000000000000',
  'x',
  '%00',
  '%ZZ',
  big(2000),
  '..%2F..%2Fetc%2Fpasswd',
  '%F0%9F%98%80',
]

const QUERIES = [
  '',
  '?',
  '?a=%',
  `?scope=${big(4000)}`,
  '?client_id=x&client_id=y&limit=-1&cursor=%00',
  '?limit=1e9&email=%ZZ',
]

// A stack frame, a file path of this machine or the project's, or SQL.
const LEAK =
  /\bat [\w.<>]+ \(|\bat \/|node_modules|\/work\/|\.ts:\d+|\.cjs:\d+|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|syntax error at or near|violates (unique|foreign key|check) constraint|\bERROR:\s/

function routesUnderTest(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = []
  const fixed = [
    { methods: ['GET'], path: '/health/liveness' },
    { methods: ['GET'], path: '/health/readiness' },
    { methods: ['GET'], path: '/metrics' },
    { methods: ['GET'], path: '/api/v1/openapi.json' },
  ]
  for (const route of [...ROUTES, ...fixed])
    for (const method of [...route.methods, 'PUT', 'OPTIONS', 'HEAD']) out.push({ method, path: route.path })
  return out
}

describe('malformed requests to every route', () => {
  it('never get a 5xx, always carry a request id, and never leak internals', async () => {
    const base = new URL(t.config.publicUrl).host
    // Each kind of defect once, with how often it happened.
    const defects = new Map<string, number>()
    const defect = (what: string) => defects.set(what, (defects.get(what) ?? 0) + 1)
    let sent = 0
    let route = ''
    const check = async (
      method: string,
      path: string,
      headers: Record<string, string>,
      body?: string | Buffer,
    ) => {
      const answer = await send(method, path, headers, body)
      sent++
      const where = `${method} ${route} → ${answer.status}`
      if (answer.status >= 500) defect(`${where}: ${answer.body.slice(0, 160)}`)
      if (!answer.headers['x-request-id']) defect(`${where}: no x-request-id`)
      const leak = LEAK.exec(answer.body)
      if (leak && route !== '/metrics') defect(`${where}: leaks "${leak[0]}"`)
    }
    for (const { method, path } of routesUnderTest()) {
      route = path
      const paths = path.includes(':')
        ? PARAMS.map((p) => path.replace(/:[A-Za-z]+/g, p))
        : QUERIES.map((q) => `${path}${q}`)
      for (const target of paths) await check(method, target, { host: base })
      for (const [type, body] of BODIES) {
        const headers: Record<string, string> = { host: base, authorization: `Bearer ${adminToken}` }
        if (type) headers['content-type'] = type
        if (method === 'GET' || method === 'HEAD') continue
        await check(method, paths[0]!, headers, body)
        await check(method, paths[0]!, { ...headers, authorization: 'Basic !!!' }, body)
      }
      for (const headers of HEADER_SETS) await check(method, paths[0]!, { host: base, ...headers })
      for (const host of HOSTS(base)) await check(method, paths[0]!, { host })
    }
    expect(sent).toBeGreaterThan(1000)
    expect(Object.fromEntries(defects)).toEqual({})
  }, 240_000)
})
