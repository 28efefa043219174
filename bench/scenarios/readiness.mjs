/** /health/readiness throughput: the floor of the HTTP stack, one server core. */
export const readiness = {
  name: 'readiness',
  async run(h) {
    const raw = {}
    const rows = []
    for (const accessLog of ['false', 'true']) {
      const server = await h.startServer({ ACCESS_LOG: accessLog })
      try {
        const r = await h.autocannon({ url: `${h.baseUrl}/health/readiness` })
        raw[`accessLog=${accessLog}`] = r
        rows.push({
          scenario: 'readiness',
          metric: `GET /health/readiness, access log ${accessLog === 'true' ? 'on' : 'off'}: req/s (p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.errors + r.non2xx})`,
          value: `${Math.round(r.requests.p50)}`,
        })
      } finally {
        await server.stop()
      }
    }
    return { raw, rows }
  },
}
