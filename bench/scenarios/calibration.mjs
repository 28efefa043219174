/**
 * The machine's own ceilings, measured in the same run as everything else: raw Ed25519
 * signing, Hono's hello-world on one core, and the floor of a token endpoint (read a form
 * body, sign one JWT with the server's own JWS code, answer) on node:http and as a Hono
 * route. Figures from another machine compare only through these.
 */
import { execFileSync, spawn } from 'node:child_process'
import path from 'node:path'
import { freePort, pinned } from '../harness.mjs'
import { FORM } from '../lib/http.mjs'
import { compileTs } from '../lib/load-ts.mjs'

/** Starts `script port ...args` on core 0, loads it with `load`, stops it; the load result. */
async function serveAndLoad(h, script, args, load) {
  const port = await freePort()
  const argv = pinned(0, [process.execPath, path.join(h.root, script), String(port), ...args])
  const server = spawn(argv[0], argv.slice(1), { stdio: 'ignore' })
  try {
    // Bounded: 200 tries, 25 ms apart.
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: load.method ?? 'GET',
          body: load.body,
        })
        await res.arrayBuffer()
        break
      } catch {
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    return await h.autocannon({ ...load, url: `http://127.0.0.1:${port}/` }, server.pid)
  } finally {
    server.kill('SIGTERM')
  }
}

const perSign = (perSecond) => `${Math.round(1e6 / perSecond)} µs`
const rate = (r) => `${Math.round(r.requests.p50)} req/s`
const detail = (r) => `p99 ${r.latency.p99} ms; server core ${Math.round(r.serverBusy * 100)} % busy`

export const calibration = {
  name: 'calibration',
  async run(h) {
    // The three ID-token algorithms: a code flow signs one ID token and one access token.
    const signRate = (alg) => {
      const argv = pinned(0, [process.execPath, path.join(h.root, 'bench/lib/sign-rate.mjs'), alg])
      return Number(execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim())
    }
    const signs = signRate('EdDSA')
    const es256Signs = signRate('ES256')
    const rs256Signs = signRate('RS256')
    const hello = await serveAndLoad(h, 'bench/lib/hello.mjs', [], {})
    const tokenLoad = { method: 'POST', headers: FORM, body: 'grant_type=client_credentials' }
    // The server's own signing and jti code, so the floor moves with them.
    const modules = [
      await compileTs(h.root, 'shared/crypto/jws.ts'),
      await compileTs(h.root, 'shared/crypto/random.ts'),
    ]
    const floor = (server) => serveAndLoad(h, 'bench/lib/token-ceiling.mjs', [server, ...modules], tokenLoad)
    const ceilingNode = await floor('node')
    const ceilingHono = await floor('hono')
    return {
      raw: {
        ed25519SignsPerSecond: signs,
        es256SignsPerSecond: es256Signs,
        rs256SignsPerSecond: rs256Signs,
        honoHelloWorld: hello,
        tokenCeilingNode: ceilingNode,
        tokenCeilingHono: ceilingHono,
      },
      rows: [
        {
          scenario: 'calibration',
          metric: 'Ed25519 signatures/s, one core (node:crypto)',
          value: `${signs}`,
        },
        {
          scenario: 'calibration',
          metric: `ES256 (P-256) signatures/s, one core (node:crypto): ${perSign(es256Signs)} each`,
          value: `${es256Signs}`,
        },
        {
          scenario: 'calibration',
          metric: `RS256 (RSA-2048) signatures/s, one core (node:crypto): ${perSign(rs256Signs)} each, so 1,500 ID tokens/s would take ${Math.round((1500 / rs256Signs) * 100)} % of the core`,
          value: `${rs256Signs}`,
        },
        {
          scenario: 'calibration',
          metric: `Hono hello-world req/s, one core, 50 connections (${detail(hello)})`,
          value: rate(hello),
        },
        {
          scenario: 'calibration',
          metric: `token endpoint floor on node:http: read a form body, sign one Ed25519 JWT, answer; no client authentication, validation or database (${detail(ceilingNode)})`,
          value: rate(ceilingNode),
        },
        {
          scenario: 'calibration',
          metric: `the same as a Hono route on @hono/node-server (${detail(ceilingHono)})`,
          value: rate(ceilingHono),
        },
      ],
    }
  },
}
