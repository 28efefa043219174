/** Small helpers for reading responses in tests. */
import { request as httpRequest } from 'node:http'

/** The response body as a JSON object (tests then assert on its members). */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary members.
export async function jsonOf(res: Response): Promise<Record<string, any>> {
  return (await res.json()) as Record<string, unknown>
}

/** An answer read off the wire. */
export interface RawAnswer {
  status: number
  /** Lower-case name → every value sent under it, from the raw header lines (so a duplicate shows). */
  headers: Map<string, string[]>
  body: string
}

/** A request over Node's HTTP client to 127.0.0.1:`port`; an array value is sent as repeated lines. */
export function overNode(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const all = new Map<string, string[]>()
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase()
        all.set(name, [...(all.get(name) ?? []), res.rawHeaders[i + 1]!])
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: all, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
