/**
 * The listening server and its orderly shutdown (DESIGN.md §3): on SIGTERM stop accepting,
 * finish in-flight requests, then close the runtime (flushing buffered writes and the pool).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import type { Runtime } from '../runtime.ts'
import { type App, directRoutesOf } from './app.ts'
import { withDirectRoutes } from './direct.ts'

export interface RunningServer {
  readonly port: number
  /** Drains and closes everything; resolves to whether in-flight requests had to be cut. */
  shutdown(): Promise<{ forced: boolean }>
}

export function startServer(runtime: Runtime, app: App): Promise<RunningServer> {
  const { config, log } = runtime
  return new Promise((resolve, reject) => {
    // autoCleanupIncoming off: functions read their bodies themselves and Node's HTTP server
    // discards an unread one; node-server's own draining put listeners and a timer on every POST.
    const hono = getRequestListener(app.fetch, { hostname: config.host, autoCleanupIncoming: false })
    // Public documents and answer functions are answered before Hono (direct.ts).
    const server = createServer(withDirectRoutes(runtime, directRoutesOf(app), hono))
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

    let shuttingDown: Promise<{ forced: boolean }> | undefined
    function shutdown() {
      shuttingDown ??= (async () => {
        runtime.draining = true
        log.info('draining: no new connections; finishing in-flight requests')
        let forced = false
        const closed = new Promise<void>((done) => server.close(() => done()))
        // Keep-alive sockets that go idle are closed as they do; responses sent while draining
        // carry `Connection: close` (see app.ts).
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
