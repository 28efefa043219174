/** `zenoauth serve`: migrate when configured, then serve the planes in PLANES. */
import { setImmediate as turn } from 'node:timers/promises'
import { type Config, loadConfig } from '../config.ts'
import { openDatabase } from '../db/database.ts'
import { flushLogger, processLogger } from '../log.ts'
import { CliError } from './cli-error.ts'
import { migrateIfBehind } from './migrate.ts'

/**
 * The modules of the runtime, the routes and the HTTP server, evaluated in three steps with a
 * turn of the event loop between them (serveUntilSignalled).
 */
export async function loadServerModules() {
  const { Runtime } = await import('../runtime.ts')
  await turn()
  const { ROUTES } = await import('../../functions/routes.gen.ts')
  const { createApp } = await import('../http/app.ts')
  await turn()
  const { startServer } = await import('../http/server.ts')
  return { Runtime, ROUTES, createApp, startServer }
}

/**
 * Serves until SIGTERM or SIGINT, then drains; resolves to the exit code.
 *
 * A cold start opens its first database connection (TCP, the server's fork, SCRAM), and
 * checks or applies the migrations when configured (migrateIfBehind), before it evaluates
 * the modules of the runtime, the routes and the HTTP server: that CPU work (~60-90 ms) then
 * overlaps PostgreSQL's, instead of preceding it. The modules are evaluated in three steps with a turn of the event loop
 * between them, so the handshake's messages are answered as they arrive. The runtime's
 * background parts start once that first connection is open.
 */
export async function serveUntilSignalled(config: Config, onStopped?: () => Promise<void>): Promise<number> {
  const log = processLogger(config)
  const db = openDatabase(config, log)
  if (config.masterKeyIsDevelopmentKey) {
    log.warn('MASTER_KEY is not set: using the fixed development key (never do this in production)')
  }
  const warmed = db.warm((err) => log.warn({ err }, 'database not reachable at start-up'))
  // MIGRATE_ON_START: the record is read over the pool's first connection, and the schema
  // owner connects only when something is pending.
  const migrated = config.migrateOnStart
    ? db
        .recordedMigrations()
        .catch(() => undefined)
        .then((recorded) => migrateIfBehind(config, recorded))
    : undefined
  // Until the migrations are awaited below, a failure of theirs is not unhandled.
  migrated?.catch(() => {})
  const { Runtime, ROUTES, createApp, startServer } = await loadServerModules()
  if (migrated) {
    const report = await migrated
    if (report.applied.length) log.info({ applied: report.applied }, 'migrations applied')
    if (report.unknown.length) log.warn({ unknown: report.unknown }, 'database has newer migrations')
  }
  const runtime = new Runtime(config, { log, db })
  let server: Awaited<ReturnType<typeof startServer>>
  try {
    server = await startServer(runtime, createApp(runtime, ROUTES))
  } catch (err) {
    await warmed.catch(() => undefined)
    await runtime.close()
    throw listenFailure(err, config)
  }
  // The background parts open a connection of their own (cache invalidation): after the
  // first one, whose handshake the readiness check waits for, not beside it; never once a
  // shutdown has begun (SIGTERM while that connection waited on the database).
  void warmed.then(() => {
    if (!runtime.draining) runtime.start()
  })
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    let received: NodeJS.Signals | undefined
    const onSignal = (s: NodeJS.Signals) => {
      // A repeated SIGTERM must not cut the drain short; a second Ctrl-C means "now".
      if (received === 'SIGINT' && s === 'SIGINT') {
        runtime.log.warn('second SIGINT: exiting without draining')
        flushLogger(runtime.log)
        process.exit(130)
      }
      received ??= s
      resolve(s)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  runtime.log.info({ signal }, 'shutting down')
  const { forced } = await server.shutdown()
  await onStopped?.()
  flushLogger(runtime.log)
  return forced ? 1 : 0
}

/** A port that cannot be listened on is the operator's to fix: say which and why, no stack. */
function listenFailure(err: unknown, config: Config): unknown {
  const code = (err as NodeJS.ErrnoException).code
  const where = `${config.host}:${config.port}`
  if (code === 'EADDRINUSE')
    return new CliError(
      `cannot listen on ${where}: the port is in use by another process (set PORT to another port)`,
    )
  if (code === 'EACCES')
    return new CliError(
      `cannot listen on ${where}: permission denied (ports below 1024 need privileges; set PORT)`,
    )
  if (code === 'EADDRNOTAVAIL')
    return new CliError(`cannot listen on ${where}: no such address on this machine (set HOST)`)
  return err
}

export async function serveCommand(_args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return serveUntilSignalled(loadConfig(env))
}
