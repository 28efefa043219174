/**
 * The flow load generator's HTTP client (bench/lib/raw-http.mjs) against Node's HTTP server:
 * bodies by Content-Length and chunked, split across packets, keep-alive reuse, and a new
 * connection after the server closes one.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ES module of the bench, without types
import { RawConnection } from '../../bench/lib/raw-http.mjs'

interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

let server: Server
let port: number
const sockets = new Set<unknown>()

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket)
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
    })
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/echo') {
        const text = JSON.stringify({ method: req.method, body, type: req.headers['content-type'] })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
        res.end(text)
      } else if (url.pathname === '/chunked') {
        // Three writes without a length: Node sends them chunked, in separate packets.
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('é'.repeat(3))
        setTimeout(() => {
          res.write('-middle-')
          setTimeout(() => res.end('end'), 5)
        }, 5)
      } else if (url.pathname === '/redirect') {
        res.writeHead(302, { location: 'https://rp.test/cb?code=abc&state=s' })
        res.end()
      } else if (url.pathname === '/close') {
        res.writeHead(200, { connection: 'close', 'content-length': 2 })
        res.end('ok')
      } else {
        res.writeHead(404, { 'content-length': 0 })
        res.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('RawConnection', () => {
  it('sends a form body and reads a Content-Length answer, reusing one socket', async () => {
    const http = new RawConnection('127.0.0.1', port)
    const before = sockets.size
    for (let i = 0; i < 3; i++) {
      const res: Answer = await http.request(
        'POST',
        '/echo',
        { 'content-type': 'application/x-www-form-urlencoded' },
        `n=${i}&ü=1`,
      )
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body)).toEqual({
        method: 'POST',
        body: `n=${i}&ü=1`,
        type: 'application/x-www-form-urlencoded',
      })
    }
    expect(sockets.size - before).toBe(1)
    http.close()
  })

  it('decodes a chunked body that arrives in several packets', async () => {
    const http = new RawConnection('127.0.0.1', port)
    const res: Answer = await http.request('GET', '/chunked', {})
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.body).toBe('ééé-middle-end')
    // The connection is still usable after the last chunk.
    expect((await http.request('GET', '/redirect', {})).status).toBe(302)
    http.close()
  })

  it('gives the status and headers of a bodiless redirect', async () => {
    const http = new RawConnection('127.0.0.1', port)
    const res: Answer = await http.request('GET', '/redirect', { cookie: 'a=b' })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('https://rp.test/cb?code=abc&state=s')
    expect(res.body).toBe('')
    http.close()
  })

  it('opens a new connection after the server closes one', async () => {
    const http = new RawConnection('127.0.0.1', port)
    const before = sockets.size
    expect((await http.request('GET', '/close', {})).body).toBe('ok')
    expect((await http.request('GET', '/close', {})).body).toBe('ok')
    expect(sockets.size - before).toBe(2)
    http.close()
  })

  it('rejects the pending request when the connection fails', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const deadPort = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const http = new RawConnection('127.0.0.1', deadPort)
    await expect(http.request('GET', '/', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
