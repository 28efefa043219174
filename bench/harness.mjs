/**
 * What every benchmark scenario needs: a migrated and bootstrapped database, a way to start
 * the artifact pinned to core 0, and autocannon pinned to core 1.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { importTs } from './lib/load-ts.mjs'

const HAS_TASKSET = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true'])
    return true
  } catch {
    return false
  }
})()

/** argv that runs `argv` on one core when taskset exists. */
export function pinned(core, argv) {
  return HAS_TASKSET ? ['taskset', '-c', String(core), ...argv] : argv
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * The run of `runs` (rounds of one measurement) whose `rateOf` is the median, the lower
 * middle one of an even count: a row quotes a whole round, not medians taken field by field.
 */
export function medianRun(runs, rateOf) {
  const sorted = [...runs].sort((a, b) => rateOf(a) - rateOf(b))
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/**
 * What a row measured in rounds says of them before the median round's details:
 * `median of 3 rounds: a, b, c<unit>; that round's `, each round as `format` puts it; nothing
 * for a single run.
 */
export function roundsNote(runs, format, unit = '') {
  return runs.length > 1
    ? `median of ${runs.length} rounds: ${runs.map(format).join(', ')}${unit}; that round's `
    : ''
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export async function freePort() {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * Clock ticks (100/s) a process has used, user and system, all threads, and with `reaped` those
 * of its children it has waited for (Linux /proc).
 */
function cpuTicksOf(pid, reaped = false) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)
}

/** CPU seconds a process has used, user and system, all threads (Linux /proc). */
export function cpuSecondsOf(pid) {
  return cpuTicksOf(pid) / 100
}

/**
 * Runs `work` and measures how busy process `pid` kept its core meanwhile (0-1): whether the
 * server, or the load core, is what limits a figure; and the CPU seconds it used.
 */
export async function withBusy(pid, work) {
  const cpu = cpuSecondsOf(pid)
  const started = performance.now()
  const result = await work()
  const seconds = cpuSecondsOf(pid) - cpu
  return { ...result, serverBusy: seconds / ((performance.now() - started) / 1000), serverSeconds: seconds }
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid) {
  return statusBytes(pid, 'VmRSS')
}

/** The kernel's high-water mark of a process's resident memory (its peak RSS) in bytes. */
export function peakRssOf(pid) {
  return statusBytes(pid, 'VmHWM')
}

/** A memory field of /proc/<pid>/status (given there in kB), in bytes. */
function statusBytes(pid, field) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`))
  return Number(line.split(/\s+/)[1]) * 1024
}

export async function createHarness({ root, scratch, quick }) {
  const artifact = path.join(root, 'dist/zenoauth.mjs')
  let embedded
  let superuserUrl = process.env.DATABASE_URL
  const { startEmbeddedPostgres, ensureRuntimeRoles, withDatabase } = await importTs(
    root,
    'shared/db/embedded.ts',
  )
  if (!superuserUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'db') })
    superuserUrl = embedded.ownerUrl('postgres')
    // PostgreSQL works beside the load generator, so core 0 measures the server alone.
    pinPostgres(path.join(scratch, 'db/pg'), 1)
  }
  const appPassword = 'zenoauth-bench'
  await ensureRuntimeRoles(superuserUrl, appPassword)
  const admin = new pg.Client({ connectionString: superuserUrl })
  await admin.connect()
  await admin.query('DROP DATABASE IF EXISTS zenoauth_bench WITH (FORCE)')
  await admin.query('CREATE DATABASE zenoauth_bench')
  await admin.end()
  const ownerUrl = withDatabase(superuserUrl, 'zenoauth_bench')
  const appUrl = withDatabase(superuserUrl, 'zenoauth_bench', { name: 'zenoauth_app', password: appPassword })
  const publicPort = await freePort()
  const baseEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    DATABASE_URL: appUrl,
    DATABASE_MIGRATION_URL: ownerUrl,
    MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
    PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
    HOST: '127.0.0.1',
    PORT: String(publicPort),
    LOG_LEVEL: 'warn',
  }
  execFileSync(process.execPath, [artifact, 'migrate'], { env: baseEnv, stdio: 'pipe' })
  const bootstrap = JSON.parse(
    execFileSync(
      process.execPath,
      [artifact, 'bootstrap', '--org', 'bench', '--admin-email', 'admin@bench.test', '--json'],
      {
        env: baseEnv,
        encoding: 'utf8',
      },
    ),
  )

  /** CPU seconds of the embedded cluster's processes so far, exited ones included; undefined without one. */
  const postgresSeconds = () => (embedded ? clusterCpuSeconds(path.join(scratch, 'db/pg')) : undefined)

  const harness = {
    root,
    quick,
    artifact,
    baseEnv,
    port: publicPort,
    baseUrl: `http://127.0.0.1:${publicPort}`,
    bootstrap,
    ownerUrl,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}${HAS_TASKSET ? `, server on core 0, load${embedded ? ' and PostgreSQL' : ''} on core 1` : ', unpinned'}`,

    /**
     * Spawns the artifact (`serve` by default), pinned to core 0 unless `pin` is false, with
     * `nodeArgs` before it (BENCH_NODE_ARGS='--cpu-prof' profiles every server);
     * resolves once /health/readiness answers 200, with the milliseconds that took.
     *
     * `afterListening`: the readiness checks start when the server logs that it listens,
     * rather than from the spawn. Polling a port that is not open yet costs ~0.5 ms of CPU
     * per attempt here, so 1 ms polls took ~50 % of a core during the start-up they timed,
     * on a machine of two (cold start). The log line costs the server nothing it would not
     * do anyway; its LOG_LEVEL is info then.
     */
    async startServer(
      env = {},
      {
        args = ['serve'],
        pin = true,
        nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
        afterListening = false,
      } = {},
    ) {
      const started = performance.now()
      const command = [process.execPath, ...nodeArgs, artifact, ...args]
      const argv = pin ? pinned(0, command) : command
      const child = spawn(argv[0], argv.slice(1), {
        env: {
          ...baseEnv,
          MIGRATE_ON_START: 'false',
          ...(afterListening ? { LOG_LEVEL: 'info' } : {}),
          ...env,
        },
        stdio: ['ignore', afterListening ? 'pipe' : 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (d) => {
        stderr += d
      })
      if (afterListening) {
        // Bounded like the polls below: 10 s, or the exit of the server.
        await new Promise((resolve, reject) => {
          let out = ''
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            reject(new Error(`server did not log that it listens: ${stderr}`))
          }, 10_000)
          const onData = (d) => {
            out += d
            if (!out.includes('"msg":"listening"')) return
            child.stdout.off('data', onData)
            // Later lines (access logs) are read and dropped, so the pipe never fills.
            child.stdout.resume()
            clearTimeout(timer)
            resolve()
          }
          child.stdout.on('data', onData)
          child.once('exit', (code) => {
            clearTimeout(timer)
            reject(new Error(`server exited ${code}: ${stderr}`))
          })
        })
      }
      const url = `http://127.0.0.1:${env.PORT ?? publicPort}/health/readiness`
      // Bounded: 10 s of 1 ms polls at most.
      for (let i = 0; i < 10_000; i++) {
        if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${stderr}`)
        try {
          const res = await fetch(url)
          await res.arrayBuffer()
          if (res.status === 200) {
            const readyMs = performance.now() - started
            return {
              pid: child.pid,
              readyMs,
              rss: () => rssOf(child.pid),
              async stop() {
                if (child.exitCode !== null) return child.exitCode
                const exited = new Promise((r) => child.once('exit', r))
                child.kill('SIGTERM')
                return exited
              },
            }
          }
        } catch {
          // not listening yet
        }
        await sleep(1)
      }
      child.kill('SIGKILL')
      throw new Error(`server did not become ready: ${stderr}`)
    },

    /**
     * Runs autocannon as its own process on core 1, after a 2 s warm-up whose figures are
     * dropped (V8 has not optimised the hot path yet); resolves to the measured run's JSON,
     * with `maxRssBytes` of `samplePid` sampled every 100 ms during it and how busy it kept
     * its core (`serverBusy`, 0-1).
     */
    async autocannon(options, samplePid) {
      await runAutocannon(root, { ...options, duration: 2 })
      let maxRssBytes = 0
      const timer = samplePid
        ? setInterval(() => {
            maxRssBytes = Math.max(maxRssBytes, rssOf(samplePid))
          }, 100)
        : undefined
      try {
        const run = () => runAutocannon(root, { duration: quick ? 3 : 10, ...options })
        return { ...(samplePid ? await withBusy(samplePid, run) : await run()), maxRssBytes }
      } finally {
        clearInterval(timer)
      }
    },

    /**
     * Runs the multi-request flow generator (bench/lib/flows.mjs) on core 1 against this
     * server; `warmup` seconds first (default 2), then `duration` (10, or 3 with --quick).
     * With `samplePid`, the result says how busy that process kept its core (`serverBusy`).
     */
    async flows(spec, samplePid) {
      const file = path.join(tmpdir(), `zenoauth-flows-${process.pid}-${Date.now()}-${Math.random()}.json`)
      writeFileSync(
        file,
        JSON.stringify({ base: harness.baseUrl, warmup: 2, duration: quick ? 3 : 10, ...spec }),
      )
      try {
        const run = () => runJson(pinned(1, [process.execPath, path.join(root, 'bench/lib/flows.mjs'), file]))
        // Over the warm-up too: the load is the same throughout.
        const pgBefore = postgresSeconds()
        const result = samplePid ? await withBusy(samplePid, run) : await run()
        const pgAfter = postgresSeconds()
        // What the embedded PostgreSQL spent per flow, warm-up included, beside the load generator.
        return pgBefore === undefined || pgAfter === undefined || !result.completedAll
          ? result
          : { ...result, postgresMicrosPerFlow: ((pgAfter - pgBefore) * 1e6) / result.completedAll }
      } finally {
        rmSync(file, { force: true })
      }
    },

    /** Runs a Node script pinned to `core` and resolves to the JSON it prints. */
    node(core, script, args = []) {
      return runJson(pinned(core, [process.execPath, script, ...args]))
    },

    async close() {
      await embedded?.stop()
    },
  }
  return harness
}

async function runAutocannon(root, spec) {
  const file = path.join(tmpdir(), `zenoauth-load-${process.pid}-${Date.now()}-${Math.random()}.json`)
  writeFileSync(file, JSON.stringify(spec))
  try {
    return await runJson(pinned(1, [process.execPath, path.join(root, 'bench/lib/load.mjs'), file]))
  } finally {
    rmSync(file, { force: true })
  }
}

/** Spawns argv; resolves to its stdout parsed as JSON, rejects with its stderr on failure. */
function runJson(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out))
      else
        reject(
          new Error(
            `${path.basename(argv.find((a) => a.endsWith('.mjs')) ?? argv[0])} failed (${code}): ${err}`,
          ),
        )
    })
  })
}

/**
 * CPU seconds a running PostgreSQL has used: the postmaster's own and that of the children it
 * has reaped (cutime, cstime), plus its live processes' (Linux /proc; 100 ticks/s).
 */
function clusterCpuSeconds(dataDir) {
  const postmaster = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]
  const ticks = (pid, reaped) => {
    try {
      return cpuTicksOf(pid, reaped)
    } catch {
      return 0 // exited meanwhile: counted once the postmaster reaps it
    }
  }
  const children = execFileSync('pgrep', ['-P', postmaster], { encoding: 'utf8' }).split('\n').filter(Boolean)
  return (ticks(postmaster, true) + children.reduce((sum, pid) => sum + ticks(pid, false), 0)) / 100
}

/** Pins a running PostgreSQL (postmaster and its processes) to `core`; new backends inherit it. */
export function pinPostgres(dataDir, core) {
  if (!HAS_TASKSET) return
  const postmaster = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]
  const children = execFileSync('pgrep', ['-P', postmaster], { encoding: 'utf8' }).split('\n').filter(Boolean)
  for (const pid of [postmaster, ...children])
    execFileSync('taskset', ['-a', '-p', '-c', String(core), pid], { stdio: 'ignore' })
}
