/**
 * The bench's reading of batched statements (bench/lib/http.mjs): the counters from a
 * server's `GET /metrics`, as the runtime's Metrics formats them, and the mean batch size of
 * each statement between two readings.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ES module of the bench, without types
import { batchCounters, batchSizes } from '../../bench/lib/http.mjs'
import type { BatchStats } from '../../shared/db/database.ts'
import { Metrics } from '../../shared/http/metrics.ts'

let stats: BatchStats[] = []
const metrics = new Metrics(
  () => ({ total: 0, idle: 0, waiting: 0 }),
  () => stats,
)
let server: Server
let base: string

beforeAll(async () => {
  server = createServer(async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType)
    res.end(await metrics.registry.metrics())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise((resolve) => server.close(resolve)))

describe('the bench’s batch sizes', () => {
  it('reads each statement’s counters and gives the mean batch size between two readings', async () => {
    stats = [{ statement: 'refresh_token_rotation', batches: 10, items: 40, waiting: 3 }]
    const before = await batchCounters(base)
    expect(before).toEqual({ refresh_token_rotation: { batches: 10, items: 40 } })
    stats = [
      { statement: 'refresh_token_rotation', batches: 30, items: 360, waiting: 0 },
      { statement: 'authorization_code_consumption', batches: 4, items: 30, waiting: 1 },
      { statement: 'authorization_code_for_session', batches: 0, items: 0, waiting: 0 },
    ]
    const after = await batchCounters(base)
    // 320 refreshes in 20 batches since the first reading; 30 consumes in 4; none of the third.
    expect(batchSizes(before, after)).toBe(
      'refresh_token_rotation ~16.0, authorization_code_consumption ~7.5',
    )
  })
})
