/**
 * Cold start: spawn → first 200 from /health/readiness, and resident memory once idle.
 * PIM and break-glass scale to zero, so this is latency a user waits through.
 */
import { median } from '../harness.mjs'

const COLD_START_TARGET_MS = 300
const IDLE_RSS_TARGET_MB = 64

export const coldStart = {
  name: 'cold-start',
  async run(h) {
    const starts = h.quick ? 5 : 15
    // Production runs migrations as a Job and starts with MIGRATE_ON_START=false. A pod
    // without a CPU limit may use every core of its node; the pinned row is the one-core case.
    const variants = [
      { label: 'all planes', env: {}, pin: false },
      { label: 'all planes, one core', env: {}, pin: true },
      { label: 'break-glass plane', env: { PLANES: 'break-glass' }, pin: false },
      { label: 'with the migration check', env: { MIGRATE_ON_START: 'true' }, pin: false },
    ]
    const raw = {}
    const rows = []
    for (const v of variants) {
      const ready = []
      const rss = []
      for (let i = 0; i < starts; i++) {
        const server = await h.startServer(v.env, { pin: v.pin })
        ready.push(server.readyMs)
        await new Promise((r) => setTimeout(r, 1000))
        rss.push(server.rss())
        await server.stop()
      }
      raw[v.label] = { readyMs: ready, rssBytes: rss }
      const readyMedian = median(ready)
      const rssMedian = median(rss) / 1024 / 1024
      rows.push({
        scenario: 'cold start',
        metric: `${v.label}: spawn → ready (n=${starts})`,
        value: `${readyMedian.toFixed(0)} ms`,
        target: `≤ ${COLD_START_TARGET_MS} ms`,
        pass: readyMedian <= COLD_START_TARGET_MS,
      })
      rows.push({
        scenario: 'idle RSS',
        metric: `${v.label}: 1 s after ready`,
        value: `${rssMedian.toFixed(1)} MB`,
        target: `≤ ${IDLE_RSS_TARGET_MB} MB`,
        pass: rssMedian <= IDLE_RSS_TARGET_MB,
      })
    }
    return { raw, rows }
  },
}
