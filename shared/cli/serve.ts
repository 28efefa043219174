/** `zenoauth serve`: migrate when configured, then serve the planes in PLANES. */
import { ROUTES } from '../../functions/routes.gen.ts'
import { type Config, loadConfig } from '../config.ts'
import { createApp } from '../http/app.ts'
import { startServer } from '../http/server.ts'
import { flushLogger } from '../log.ts'
import { Runtime } from '../runtime.ts'
import { runMigrations } from './migrate.ts'

/** Serves until SIGTERM or SIGINT, then drains; resolves to the exit code. */
export async function serveUntilSignalled(config: Config, onStopped?: () => Promise<void>): Promise<number> {
  const runtime = new Runtime(config)
  if (config.masterKeyIsDevelopmentKey) {
    runtime.log.warn('MASTER_KEY is not set: using the fixed development key (never do this in production)')
  }
  if (config.migrateOnStart) {
    const report = await runMigrations(config)
    if (report.applied.length) runtime.log.info({ applied: report.applied }, 'migrations applied')
    if (report.unknown.length) runtime.log.warn({ unknown: report.unknown }, 'database has newer migrations')
  }
  runtime.db.warm((err) => runtime.log.warn({ err }, 'database not reachable at start-up'))
  const server = await startServer(runtime, createApp(runtime, ROUTES))
  runtime.start()
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

export async function serveCommand(_args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return serveUntilSignalled(loadConfig(env))
}
