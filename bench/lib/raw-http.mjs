/**
 * A minimal HTTP/1.1 client for the flow load generator: one keep-alive socket, one request at a
 * time, requests written as one string, answers parsed only as far as the flows need (status,
 * headers, body by Content-Length or chunked). node:http's client costs ~100 µs of CPU per
 * request here, and the load generator shares its core with PostgreSQL, so what it spends is
 * taken from the system it measures.
 */
import net from 'node:net'

const CRLF2 = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')

export class RawConnection {
  /** @param {string} host @param {number} port */
  constructor(host, port) {
    this.host = host
    this.port = port
    this.socket = undefined
    this.pending = undefined
    this.buffer = Buffer.alloc(0)
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {Record<string, string>} headers
   * @param {string} [body]
   * @returns {Promise<{ status: number, headers: Record<string, string>, body: string }>}
   */
  request(method, path, headers, body) {
    if (this.pending) return Promise.reject(new Error('one request at a time'))
    const socket = this.socket ?? this.connect()
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`
    for (const name in headers) if (headers[name] !== undefined) head += `${name}: ${headers[name]}\r\n`
    if (body !== undefined) head += `content-length: ${Buffer.byteLength(body)}\r\n`
    head += '\r\n'
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      socket.write(body === undefined ? head : head + body)
    })
  }

  close() {
    this.socket?.destroy()
    this.socket = undefined
  }

  connect() {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true })
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
      this.parse()
    })
    const fail = (err) => {
      // A socket closed after its last answer (Connection: close) fails nothing.
      if (this.socket !== socket) return
      this.socket = undefined
      const pending = this.pending
      this.pending = undefined
      pending?.reject(err ?? Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }))
    }
    socket.on('error', fail)
    socket.on('close', () => fail())
    return socket
  }

  /** Completes the pending request once its whole answer is in the buffer. */
  parse() {
    const buf = this.buffer
    const headEnd = buf.indexOf(CRLF2)
    if (headEnd < 0 || !this.pending) return
    const lines = buf.latin1Slice(0, headEnd).split('\r\n')
    const status = Number(lines[0].slice(9, 12))
    const headers = {}
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':')
      headers[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim()
    }
    let start = headEnd + 4
    let body
    let end
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts = []
      for (;;) {
        const lineEnd = buf.indexOf(CRLF, start)
        if (lineEnd < 0) return
        const size = Number.parseInt(buf.latin1Slice(start, lineEnd), 16)
        if (size === 0) {
          if (buf.length < lineEnd + 4) return
          end = lineEnd + 4
          break
        }
        if (buf.length < lineEnd + 2 + size + 2) return
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
        start = lineEnd + 2 + size + 2
      }
      body = Buffer.concat(parts).toString()
    } else {
      const length = Number(headers['content-length'] ?? 0)
      if (buf.length < start + length) return
      end = start + length
      body = buf.toString('utf8', start, end)
    }
    this.buffer = buf.subarray(end)
    const pending = this.pending
    this.pending = undefined
    if (headers.connection?.toLowerCase() === 'close') this.close()
    pending.resolve({ status, headers, body })
  }
}
