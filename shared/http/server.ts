/**
 * The listening server and its orderly shutdown (DESIGN.md §3): on SIGTERM stop accepting,
 * finish in-flight requests, then close the runtime (flushing buffered writes and the pool).
 */
import { createServer, type RequestListener, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import type { Runtime } from '../runtime.ts'
import type { App } from './app.ts'
import { HttpError } from './errors.ts'
import { recordRequest, requestIdFrom } from './request-context.ts'
import { errorParts } from './serialize-error.ts'

export interface RunningServer {
  readonly port: number
  /** Drains and closes everything; resolves to whether in-flight requests had to be cut. */
  shutdown(): Promise<{ forced: boolean }>
}

/**
 * Host names are case-insensitive (RFC 9110 §4.2.3): every request's Host is lower-cased here,
 * once, before anything reads it. A Host that is not a host name (and optional port) is
 * answered here, 400 in problem+json with a request id, as every other error is: the
 * adapter behind would refuse it with an empty text/plain 400.
 */
function withCanonicalHost(runtime: Runtime, next: RequestListener): RequestListener {
  // The host last found valid: nearly every request of a process names the same one.
  let valid = ''
  return (incoming, outgoing) => {
    const host = incoming.headers.host
    if (host !== undefined && host !== valid) {
      const lower = host.toLowerCase()
      if (lower !== host) incoming.headers.host = lower
      if (isHostHeader(lower)) valid = lower
      else {
        const started = performance.now()
        const requestId = requestIdFrom(incoming.headers['x-request-id'] as string | undefined)
        const error = errorParts(
          new HttpError(400, 'invalid_host', 'The Host header is malformed.'),
          'problem',
        )
        outgoing.writeHead(error.status, {
          ...error.headers,
          'x-request-id': requestId,
          'content-length': Buffer.byteLength(error.body ?? ''),
        })
        outgoing.end(error.body)
        const method = incoming.method ?? 'GET'
        const path = (incoming.url ?? '/').split('?')[0] ?? '/'
        recordRequest(runtime, {
          started,
          requestId,
          method,
          path,
          route: 'unmatched',
          plane: 'none',
          status: 400,
        })
        return
      }
    }
    next(incoming, outgoing)
  }
}

/**
 * A request Node's parser refused (broken framing, headers too large, a timeout): answered
 * like every other error, problem+json with a request id, instead of Node's bare reply.
 */
function answerClientError(runtime: Runtime, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const requestId = requestIdFrom(undefined)
  const error = errorParts(
    new HttpError(status, 'malformed_http', 'The request is not well-formed HTTP/1.1.'),
    'problem',
  )
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    ...Object.entries({ ...error.headers, 'x-request-id': requestId, connection: 'close' }).map(
      ([k, v]) => `${k}: ${v}`,
    ),
    `content-length: ${Buffer.byteLength(error.body)}`,
  ]
  socket.end(`${head.join('\r\n')}\r\n\r\n${error.body}`)
  const started = performance.now()
  recordRequest(runtime, {
    started,
    requestId,
    method: '-',
    path: '-',
    route: 'unmatched',
    plane: 'none',
    status,
  })
}

/** A host name or address, with an optional port: what a URL's authority holds, no more. */
function isHostHeader(host: string): boolean {
  if (host === '' || host.length > 300) return false
  try {
    const url = new URL(`http://${host}/`)
    return url.host === host || url.host === host.replace(/:80$/, '')
  } catch {
    return false
  }
}

/** What production's server runs for every request: Host made canonical, then the app. */
export function requestListener(runtime: Runtime, app: App): RequestListener {
  // autoCleanupIncoming off: functions read their bodies themselves and Node's HTTP server
  // discards an unread one; node-server's own draining put listeners and a timer on every POST.
  const hono = getRequestListener(app.fetch, { hostname: runtime.config.host, autoCleanupIncoming: false })
  return withCanonicalHost(runtime, hono)
}

export function startServer(runtime: Runtime, app: App): Promise<RunningServer> {
  const { config, log } = runtime
  return new Promise((resolve, reject) => {
    const server = createServer(requestListener(runtime, app))
    server.listen(config.port, config.host, () => {
      const info = server.address() as AddressInfo
      log.info(
        {
          port: info.port,
          host: config.host,
          startupMs: Math.round(performance.now()),
          // Whether V8 took the artifact's code cache (dist/zenoauth.mjs records it).
          // `rejected`: a V8 flag (NODE_OPTIONS=--max-old-space-size=…, say) or another Node
          // binary than the cache was made with, and a cold start ~130 ms slower (README).
          codeCache: (globalThis as Record<symbol, unknown>)[Symbol.for('zenoauth.codeCache')] ?? 'absent',
        },
        'listening',
      )
      // After the first requests can be answered, not before (cold start).
      setImmediate(() => runtime.metrics.collectProcessMetrics())
      resolve({ port: info.port, shutdown })
    })
    server.once('error', reject)
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(runtime, err, socket))

    let shuttingDown: Promise<{ forced: boolean }> | undefined
    function shutdown() {
      shuttingDown ??= (async () => {
        runtime.draining = true
        log.info('draining: no new connections; finishing in-flight requests')
        let forced = false
        const closed = new Promise<void>((done) => server.close(() => done()))
        // Keep-alive sockets that go idle are closed as they do; responses sent while draining
        // carry `Connection: close` (pipeline.ts).
        const idle = setInterval(() => 'closeIdleConnections' in server && server.closeIdleConnections(), 50)
        const deadline = setTimeout(() => {
          forced = true
          log.warn(
            { timeoutMs: config.shutdownTimeoutMs },
            'shutdown timeout: closing the remaining connections',
          )
          if ('closeAllConnections' in server) server.closeAllConnections()
        }, config.shutdownTimeoutMs)
        if ('closeIdleConnections' in server) server.closeIdleConnections()
        await closed
        clearInterval(idle)
        clearTimeout(deadline)
        await runtime.close()
        log.info({ forced }, 'stopped')
        return { forced }
      })()
      return shuttingDown
    }
  })
}
