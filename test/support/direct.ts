/**
 * The app served over Node with its direct routes in front (shared/http/direct.ts), recording
 * which requests the direct listener handed on to the app.
 */
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { afterAll } from 'vitest'
import { directRoutesOf } from '../../shared/http/app.ts'
import { withDirectRoutes } from '../../shared/http/direct.ts'
import { overNode, type RawAnswer } from './http.ts'
import type { TestRuntime } from './runtime.ts'

export interface DirectServer {
  readonly port: number
  /** A request over Node's HTTP client, with `host` unless the headers name another. */
  request(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<RawAnswer>
  /** The answer to a request and whether the app answered it (rather than the direct listener). */
  viaApp(ask: () => Promise<RawAnswer>): Promise<{ answer: RawAnswer; app: boolean }>
  /** Requests handed on to the app so far, as method and url. */
  readonly handedOn: readonly string[]
}

/** Serves `t` on a free loopback port until the end of the file. */
export async function serveDirect(t: TestRuntime, host: string): Promise<DirectServer> {
  const handedOn: string[] = []
  const hono = getRequestListener(t.app.fetch, { autoCleanupIncoming: false })
  const next: RequestListener = (incoming, outgoing) => {
    handedOn.push(`${incoming.method} ${incoming.url}`)
    return hono(incoming, outgoing)
  }
  const server = createServer(withDirectRoutes(t.runtime, directRoutesOf(t.app), next))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  afterAll(() => new Promise<void>((done) => server.close(() => done())))
  const port = (server.address() as AddressInfo).port
  const request: DirectServer['request'] = (method, path, headers = {}, body) =>
    overNode(port, method, path, { host, ...headers }, body)
  return {
    port,
    request,
    handedOn,
    async viaApp(ask) {
      const before = handedOn.length
      const answer = await ask()
      return { answer, app: handedOn.length > before }
    },
  }
}

/** An answer's headers without Date, which moves with the clock. */
export function withoutDate(a: RawAnswer): Record<string, string[]> {
  return Object.fromEntries([...a.headers].filter(([name]) => name !== 'date'))
}
