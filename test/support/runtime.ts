/** A runtime and app on this test file's database, with logs captured in memory. */
import { Writable } from 'node:stream'
import { afterAll } from 'vitest'
import { ROUTES } from '../../functions/routes.gen.ts'
import { type Config, loadConfig } from '../../shared/config.ts'
import { freePort } from '../../shared/db/embedded.ts'
import { type App, createApp } from '../../shared/http/app.ts'
import type { RouteEntry } from '../../shared/http/define-function.ts'
import { startServer } from '../../shared/http/server.ts'
import { createLogger } from '../../shared/log.ts'
import { Runtime } from '../../shared/runtime.ts'
import { createTestDatabase, type TestDatabase } from './database.ts'

export class LogCapture extends Writable {
  readonly records: Record<string, unknown>[] = []
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.records.push(JSON.parse(line))
    done()
  }
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n')
  }
}

export interface TestRuntime {
  readonly runtime: Runtime
  readonly app: App
  readonly config: Config
  readonly db: TestDatabase
  readonly logs: LogCapture
}

export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64')

/** The environment a test runtime gets; `env` overrides it. */
export function testEnv(db: TestDatabase, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.appUrl,
    DATABASE_MIGRATION_URL: db.ownerUrl,
    PUBLIC_URL: 'http://localhost:8080',
    MASTER_KEY: TEST_MASTER_KEY,
    LOG_LEVEL: 'info',
    ...env,
  }
}

/** A runtime on a fresh database (or `db`), closed after the file. */
export async function createTestRuntime(
  options: { env?: Record<string, string>; routes?: readonly RouteEntry[]; db?: TestDatabase } = {},
): Promise<TestRuntime> {
  const db = options.db ?? (await createTestDatabase())
  const config = loadConfig(testEnv(db, options.env))
  const logs = new LogCapture()
  const runtime = new Runtime(config, { log: createLogger({ level: config.logLevel, destination: logs }) })
  runtime.start()
  afterAll(() => runtime.close())
  return { runtime, app: createApp(runtime, options.routes ?? ROUTES), config, db, logs }
}

/**
 * A runtime served over real HTTP on a free loopback port, which is also its PUBLIC_URL
 * (`t.config.publicUrl`); the server is shut down after the file, before the runtime closes.
 */
export async function createServedRuntime(
  options: { env?: Record<string, string> } = {},
): Promise<TestRuntime> {
  const port = await freePort()
  const t = await createTestRuntime({
    env: { PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, ...options.env },
  })
  const server = await startServer(t.runtime, t.app)
  afterAll(() => server.shutdown())
  return t
}

/** A runtime beside `t` whose database never answers (nothing listens where it connects). */
export function createDownRuntime(t: TestRuntime, timeoutMs = 300): Promise<TestRuntime> {
  return createTestRuntime({
    db: t.db,
    env: {
      DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
      DATABASE_CONNECT_TIMEOUT_MS: String(timeoutMs),
    },
  })
}
