/**
 * The machine's own ceilings, measured in the same run as everything else: raw Ed25519
 * signing and Hono's hello-world on one core. Figures from another machine compare only
 * through these.
 */
import { execFileSync, spawn } from 'node:child_process'
import path from 'node:path'
import { freePort, pinned } from '../harness.mjs'

export const calibration = {
  name: 'calibration',
  async run(h) {
    const signArgv = pinned(0, [process.execPath, path.join(h.root, 'bench/lib/sign-rate.mjs')])
    const signs = Number(execFileSync(signArgv[0], signArgv.slice(1), { encoding: 'utf8' }).trim())
    const port = await freePort()
    const argv = pinned(0, [process.execPath, path.join(h.root, 'bench/lib/hello.mjs'), String(port)])
    const hello = spawn(argv[0], argv.slice(1), { stdio: 'ignore' })
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer()
          break
        } catch {
          await new Promise((r) => setTimeout(r, 25))
        }
      }
      const r = await h.autocannon({ url: `http://127.0.0.1:${port}/` })
      return {
        raw: { ed25519SignsPerSecond: signs, honoHelloWorld: r },
        rows: [
          {
            scenario: 'calibration',
            metric: 'Ed25519 signatures/s, one core (node:crypto)',
            value: `${signs}`,
          },
          {
            scenario: 'calibration',
            metric: `Hono hello-world req/s, one core, 50 connections (p99 ${r.latency.p99} ms)`,
            value: `${Math.round(r.requests.p50)}`,
          },
        ],
      }
    } finally {
      hello.kill('SIGTERM')
    }
  },
}
