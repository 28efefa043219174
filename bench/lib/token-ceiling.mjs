/**
 * Calibration: the floor of any token endpoint on this stack. One route, `POST /`, reads a
 * form body, builds RFC 9068 claims, signs them with the server's own JWS module
 * (shared/crypto/jws.ts, Ed25519) and jti source (shared/crypto/random.ts), and answers the
 * token response as JSON. No client authentication, validation, database, audit or metrics:
 * what a client-credentials token costs before ZenoAuth does anything of its own.
 *
 *   node token-ceiling.mjs <port> node|hono <compiled jws module> <compiled random module>
 *
 * `node` serves it from node:http directly, `hono` as a Hono route on @hono/node-server.
 */
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const [portArg, mode, jwsModule, randomModule] = process.argv.slice(2)
const port = Number(portArg)
const { signCompact } = await import(pathToFileURL(jwsModule).href)
const { randomIdentifier } = await import(pathToFileURL(randomModule).href)
const { privateKey } = generateKeyPairSync('ed25519')

/** The token response for a form body. */
function tokenResponse(form) {
  const now = Math.floor(Date.now() / 1000)
  const scope = new URLSearchParams(form).get('scope') ?? 'orders:read'
  const token = signCompact(
    { typ: 'at+jwt', kid: 'calibration' },
    {
      iss: `http://127.0.0.1:${port}/calibration`,
      sub: 'calibration-client',
      aud: 'https://orders.example.com',
      client_id: 'calibration-client',
      scope,
      jti: randomIdentifier(),
      iat: now,
      exp: now + 600,
    },
    'EdDSA',
    privateKey,
  )
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
  throw new Error(`usage: token-ceiling.mjs <port> node|hono <jws module> <random module> (got ${mode})`)
}
