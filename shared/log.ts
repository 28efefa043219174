/**
 * Structured JSON logs (pino). Secrets are redacted by path as a second line of defence;
 * the first is that no code logs request bodies or credentials.
 */
import { pino } from 'pino'
import type { Config } from './config.ts'

export type Logger = pino.Logger

const REDACT = [
  'password',
  '*.password',
  'client_secret',
  '*.client_secret',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'refresh_token',
  '*.refresh_token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'masterKey',
  '*.masterKey',
]

export interface LoggerOptions {
  level: string
  /** Defaults to stdout, written asynchronously; flush with flushLogger() before exit. */
  destination?: pino.DestinationStream
  base?: Record<string, unknown>
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false })
  return pino(
    {
      level: options.level,
      base: { service: 'zenoauth', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  )
}

/** Writes out what the asynchronous destination still buffers; call before exit. */
export function flushLogger(log: Logger): void {
  try {
    log.flush()
    const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as {
      flushSync?: () => void
    }
    stream.flushSync?.()
  } catch {
    // A destination that is not ready or already closed has nothing left to write.
  }
}

/** A server process's logger: JSON on stdout at the configured level, naming its planes. */
export function processLogger(config: Pick<Config, 'logLevel' | 'planes'>): Logger {
  return createLogger({ level: config.logLevel, base: { planes: config.planes.join(',') } })
}
