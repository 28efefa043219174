/**
 * Cold start: spawn → first 200 from /health/readiness, and resident memory once idle.
 * PIM and break-glass scale to zero, so this is latency a user waits through. The readiness
 * checks start when the server logs that it listens (harness.startServer, afterListening):
 * polling the closed port from the spawn on took half of a core from the start-up it timed.
 */
import { median } from '../harness.mjs'

const COLD_START_TARGET_MS = 300
const IDLE_RSS_TARGET_MB = 64
const REST_MS = 12_000

export const coldStart = {
  name: 'cold-start',
  async run(h) {
    const starts = h.quick ? 5 : 15
    // Production runs migrations as a Job and starts with MIGRATE_ON_START=false. A pod
    // without a CPU limit may use every core of its node; the pinned row is the one-core case.
    // `atRest`: the first starts of these variants also stay up until V8's memory reducer has
    // run (it gives back the young generation start-up grew, ~8 s after the allocation rate
    // drops), and their resident memory then is the idle figure the target is about.
    const variants = [
      { label: 'all planes', env: {}, pin: false, atRest: true },
      { label: 'all planes, one core', env: {}, pin: true },
      { label: 'break-glass plane', env: { PLANES: 'break-glass' }, pin: false, atRest: true },
      { label: 'with the migration check', env: { MIGRATE_ON_START: 'true' }, pin: false },
    ]
    const restStarts = h.quick ? 1 : 3
    const samples = variants.map(() => ({ ready: [], rss: [], rest: [] }))
    // The variants take turns, start by start: a slow spell of the machine (they last
    // minutes) then falls on every variant alike instead of on the one running through it.
    for (let i = 0; i < starts; i++) {
      for (const [k, v] of variants.entries()) {
        const { ready, rss, rest } = samples[k]
        const server = await h.startServer(v.env, { pin: v.pin, afterListening: true })
        ready.push(server.readyMs)
        await new Promise((r) => setTimeout(r, 1000))
        rss.push(server.rss())
        if (v.atRest && i < restStarts) {
          await new Promise((r) => setTimeout(r, REST_MS - 1000))
          rest.push(server.rss())
        }
        await server.stop()
      }
    }
    const raw = {}
    const rows = []
    for (const [k, v] of variants.entries()) {
      const { ready, rss, rest } = samples[k]
      raw[v.label] = { readyMs: ready, rssBytes: rss, ...(rest.length ? { restRssBytes: rest } : {}) }
      const readyMedian = median(ready)
      // MB as the targets state them: 10^6 bytes (MiB, 2^20, is what memory limits use).
      const rssMedian = median(rss) / 1e6
      rows.push({
        scenario: 'cold start',
        metric: `${v.label}: spawn → ready (n=${starts})`,
        value: `${readyMedian.toFixed(0)} ms`,
        target: `≤ ${COLD_START_TARGET_MS} ms`,
        pass: readyMedian <= COLD_START_TARGET_MS,
      })
      rows.push({
        scenario: 'idle RSS',
        metric: `${v.label}: 1 s after ready (start-up's young generation not yet given back)`,
        value: `${rssMedian.toFixed(1)} MB`,
      })
      if (rest.length) {
        const restMedian = median(rest) / 1e6
        rows.push({
          scenario: 'idle RSS',
          metric: `${v.label}: at rest, ${REST_MS / 1000} s after ready, no requests (n=${rest.length})`,
          value: `${restMedian.toFixed(1)} MB`,
          target: `≤ ${IDLE_RSS_TARGET_MB} MB`,
          pass: restMedian <= IDLE_RSS_TARGET_MB,
        })
      }
    }
    return { raw, rows }
  },
}
