/**
 * The token service on one server core: client credentials, introspection (verification
 * cache warm and cold), JWKS and discovery; resident memory under that load.
 */
import { medianRun, roundsNote } from '../harness.mjs'
import { adminApi, basic, FORM as form, json } from '../lib/http.mjs'

const TARGETS = {
  token: { rps: 6000, p99: 15 },
  introspection: { rps: 8000, p99: 10 },
  metadata: { rps: 12000 },
  rssMb: 160,
}

export const tokenService = {
  name: 'token-service',
  async run(h) {
    const server = await h.startServer({})
    const base = h.baseUrl
    try {
      const api = await adminApi(base, h.bootstrap.admin_client)
      const app = await api('POST', '/api/v1/applications', {
        name: 'bench service',
        type: 'service',
        allowed_scopes: ['orders:read'],
        allowed_audiences: ['https://orders.example.com'],
      })
      const auth = basic(app.client_id, app.client_secret)
      const tokenBody = 'grant_type=client_credentials'
      const issue = async () =>
        (
          await json(
            await fetch(`${base}/oauth/token`, {
              method: 'POST',
              headers: { ...form, authorization: auth },
              body: tokenBody,
            }),
          )
        ).access_token

      const raw = {}
      const rows = []
      // `runs`: the rounds of a row measured in rounds; `r` is the median one.
      const row = (metric, r, target, runs = [r]) => {
        const rps = Math.round(r.requests.p50)
        const each = roundsNote(runs, (x) => Math.round(x.requests.p50), ' req/s')
        rows.push({
          scenario: 'token service',
          metric: `${metric} (${each}p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx + r.errors}${r.serverBusy === undefined ? '' : `; server core ${Math.round(r.serverBusy * 100)} % busy`})`,
          value: `${rps} req/s`,
          target: target ? `≥ ${target.rps}/s${target.p99 ? `, p99 ≤ ${target.p99} ms` : ''}` : undefined,
          pass: target ? rps >= target.rps && (!target.p99 || r.latency.p99 <= target.p99) : undefined,
        })
      }

      const clientCredentials = {
        url: `${base}/oauth/token`,
        method: 'POST',
        headers: { ...form, authorization: auth },
        body: tokenBody,
      }
      const introspect = (token) => `token=${encodeURIComponent(token)}`
      const introspectOne = {
        url: `${base}/oauth/introspect`,
        method: 'POST',
        headers: { ...form, authorization: auth },
        body: introspect(await issue()),
      }
      // The two rows with targets run in alternating rounds, and each quotes its median round:
      // a slow spell of the machine (they last minutes) then cannot fall on one of them alone.
      const rounds = h.quick ? 1 : 3
      raw.clientCredentials = []
      raw.introspectionWarm = []
      for (let i = 0; i < rounds; i++) {
        raw.clientCredentials.push(await h.autocannon(clientCredentials, server.pid))
        raw.introspectionWarm.push(await h.autocannon(introspectOne, server.pid))
      }
      row(
        'POST /oauth/token, client_credentials, 50 connections',
        medianRun(raw.clientCredentials, (x) => x.requests.p50),
        TARGETS.token,
        raw.clientCredentials,
      )
      raw.clientCredentials10 = await h.autocannon({ ...clientCredentials, connections: 10 }, server.pid)
      row('POST /oauth/token, client_credentials, 10 connections', raw.clientCredentials10)
      row(
        'POST /oauth/introspect, one token (verification cache warm)',
        medianRun(raw.introspectionWarm, (x) => x.requests.p50),
        TARGETS.introspection,
        raw.introspectionWarm,
      )

      // More distinct tokens than the verification cache holds (10,000): every request misses.
      const count = h.quick ? 12_000 : 20_000
      const tokens = []
      for (let i = 0; i < count; i += 50)
        tokens.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, issue))))
      raw.introspectionCold = await h.autocannon(
        {
          url: `${base}/oauth/introspect`,
          method: 'POST',
          headers: { ...form, authorization: auth },
          bodies: tokens.map(introspect),
        },
        server.pid,
      )
      row(`POST /oauth/introspect, ${count} distinct tokens (cache cold)`, raw.introspectionCold)

      raw.jwks = await h.autocannon({ url: `${base}/.well-known/jwks.json` }, server.pid)
      row('GET /.well-known/jwks.json', raw.jwks, TARGETS.metadata)
      raw.discovery = await h.autocannon({ url: `${base}/.well-known/openid-configuration` }, server.pid)
      row('GET /.well-known/openid-configuration', raw.discovery, TARGETS.metadata)

      // MB as the target states it: 10^6 bytes.
      const rssMb =
        Math.max(
          ...Object.values(raw)
            .flat()
            .map((r) => r.maxRssBytes ?? 0),
        ) / 1e6
      rows.push({
        scenario: 'token service',
        metric: 'peak RSS under the loads above',
        value: `${rssMb.toFixed(0)} MB`,
        target: `≤ ${TARGETS.rssMb} MB`,
        pass: rssMb <= TARGETS.rssMb,
      })
      return { raw, rows }
    } finally {
      await server.stop()
    }
  },
}
