/**
 * Calibration: the floor of any token endpoint on this stack. One route, `POST /`, reads a
 * form body, builds RFC 9068 claims, signs them with Ed25519 (node:crypto, one-shot, as
 * shared/crypto/jws.ts does) and answers the token response as JSON. No client
 * authentication, validation, database, audit or metrics: what a client-credentials token
 * costs before ZenoAuth does anything of its own.
 *
 *   node token-ceiling.mjs <port> node|hono
 *
 * `node` serves it from node:http directly, `hono` as a Hono route on @hono/node-server.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { createServer } from 'node:http'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const [port, mode] = [Number(process.argv[2]), process.argv[3]]
const { privateKey } = generateKeyPairSync('ed25519')
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const header = b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'calibration' })

/** The token response for a form body. */
function tokenResponse(form) {
  const params = new URLSearchParams(form)
  const now = Math.floor(Date.now() / 1000)
  const scope = params.get('scope') ?? 'orders:read'
  const input = `${header}.${b64({
    iss: `http://127.0.0.1:${port}/calibration`,
    sub: 'calibration-client',
    aud: 'https://orders.example.com',
    client_id: 'calibration-client',
    scope,
    jti: randomBytes(16).toString('base64url'),
    iat: now,
    exp: now + 600,
  })}`
  const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
  return JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 600, scope })
}

/** The whole body of a Node request stream. */
function bodyOf(incoming) {
  return new Promise((resolve, reject) => {
    const chunks = []
    incoming.on('data', (chunk) => chunks.push(chunk))
    incoming.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    incoming.on('error', reject)
  })
}

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' }

if (mode === 'node') {
  createServer(async (req, res) => {
    const body = tokenResponse(await bodyOf(req))
    res.writeHead(200, { ...HEADERS, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }).listen(port, '127.0.0.1')
} else if (mode === 'hono') {
  const app = new Hono()
  app.post('/', async (c) => new Response(tokenResponse(await bodyOf(c.env.incoming)), { headers: HEADERS }))
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1', autoCleanupIncoming: false })
} else {
  throw new Error(`usage: token-ceiling.mjs <port> node|hono (got ${mode})`)
}
