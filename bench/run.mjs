#!/usr/bin/env node
/**
 * `npm run bench`: benchmarks of the built artifact against a real PostgreSQL.
 *
 *   node bench/run.mjs [--only <scenario,...>] [--quick] [--no-build]
 *
 * The server is pinned to core 0 and the load generator (autocannon, a separate process) to
 * core 1, so the figures mean "one core of server". PostgreSQL is DATABASE_URL (a superuser
 * URL) when set, else an embedded cluster in a temporary folder. Results go to
 * bench/results/<timestamp>.json and a markdown table on stdout. Quote medians: the machines
 * are noisy.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createHarness } from './harness.mjs'
import { SCENARIOS } from './scenarios/index.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
})

if (!values['no-build'])
  execFileSync(process.execPath, [path.join(ROOT, 'build.mjs')], { stdio: 'inherit', cwd: ROOT })

const scratch = mkdtempSync(path.join(tmpdir(), 'zenoauth-bench-'))
chmodSync(scratch, 0o755)
const harness = await createHarness({ root: ROOT, scratch, quick: values.quick })
const selected = values.only ? values.only.split(',').map((s) => s.trim()) : undefined
const rows = []
const results = { startedAt: new Date().toISOString(), machine: harness.machine, scenarios: {} }
try {
  for (const scenario of SCENARIOS) {
    if (selected && !selected.includes(scenario.name)) continue
    console.error(`bench: ${scenario.name} …`)
    const out = await scenario.run(harness)
    results.scenarios[scenario.name] = out.raw
    rows.push(...out.rows)
  }
} finally {
  await harness.close()
  rmSync(scratch, { recursive: true, force: true })
}

const dir = path.join(ROOT, 'bench/results')
mkdirSync(dir, { recursive: true })
const file = path.join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`)
writeFileSync(file, `${JSON.stringify({ ...results, rows }, null, 2)}\n`)

const table = [
  '| scenario | metric | median | target | |',
  '|---|---|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.metric} | ${r.value} | ${r.target ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'ok' : '**miss**'} |`,
  ),
]
console.log(`\n${table.join('\n')}\n\nmachine: ${harness.machine}\nresults: ${path.relative(ROOT, file)}`)
