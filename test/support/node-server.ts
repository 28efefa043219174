/** The app served over Node on a loopback port, with the listener production runs (server.ts). */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll } from 'vitest'
import { requestListener } from '../../shared/http/server.ts'
import { overNode, type RawAnswer } from './http.ts'
import type { TestRuntime } from './runtime.ts'

export interface NodeServer {
  readonly port: number
  /** A request over Node's HTTP client, with `host` unless the headers name another. */
  request(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<RawAnswer>
}

/** Serves `t` on a free loopback port until the end of the file. */
export async function serveOverNode(t: TestRuntime, host: string): Promise<NodeServer> {
  const server = createServer(requestListener(t.runtime, t.app))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  afterAll(() => new Promise<void>((done) => server.close(() => done())))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    request: (method, path, headers = {}, body) => overNode(port, method, path, { host, ...headers }, body),
  }
}

/** An answer's headers without Date, which moves with the clock. */
export function withoutDate(a: RawAnswer): Record<string, string[]> {
  return Object.fromEntries([...a.headers].filter(([name]) => name !== 'date'))
}

/** A web Response's headers in RawAnswer's shape, without Date. */
export function headersOf(res: Response): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, value] of res.headers) {
    if (name === 'date') continue
    if (name === 'set-cookie') out[name] = res.headers.getSetCookie()
    else out[name] = [value]
  }
  return out
}
