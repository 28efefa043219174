#!/usr/bin/env node
/**
 * Runs autocannon programmatically (in its own process, pinned to the load core by the
 * harness) so each request can carry a different body, cycling through `bodies`.
 * Input: a JSON file path as argv[2]; output: autocannon's result JSON on stdout.
 */
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))
let i = 0
const bodies = spec.bodies
const result = await autocannon({
  url: spec.url,
  method: spec.method ?? 'GET',
  headers: spec.headers ?? {},
  connections: spec.connections ?? 50,
  pipelining: spec.pipelining ?? 1,
  duration: spec.duration,
  ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  ...(bodies
    ? {
        requests: [
          {
            setupRequest(req) {
              req.body = bodies[i++ % bodies.length]
              return req
            },
          },
        ],
      }
    : spec.body !== undefined
      ? { body: spec.body }
      : {}),
})
process.stdout.write(JSON.stringify(result))
