/**
 * `zenoauth invoke METHOD PATH [-d body] [-H 'Name: value']...`: one request through the
 * route table in-process, exactly as the router would run it, with no listening socket.
 * Prints the status line, the headers and the body; logs go to stderr.
 */
import { readFileSync } from 'node:fs'
import { STATUS_CODES } from 'node:http'
import { ROUTES } from '../../functions/routes.gen.ts'
import { type Config, loadConfig } from '../config.ts'
import { createApp } from '../http/app.ts'
import { createLogger, flushLogger } from '../log.ts'
import { Runtime } from '../runtime.ts'
import { parseCliArgs } from './args.ts'
import { CliError } from './cli-error.ts'
import { DATA_DIR_OPTION, withLocalDatabase } from './local-database.ts'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export async function invokeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCliArgs(
    args,
    {
      data: { type: 'string', short: 'd' },
      header: { type: 'string', short: 'H', multiple: true },
      ...DATA_DIR_OPTION,
    },
    true,
  )
  const [rawMethod, path, ...rest] = positionals
  const method = rawMethod?.toUpperCase()
  if (!method || !path || rest.length > 0)
    throw new CliError('usage: invoke <METHOD> <PATH> [-d <body>|@file] [-H "Name: value"]...', 2)
  if (!METHODS.has(method)) throw new CliError(`invoke: unknown method '${rawMethod}'`, 2)
  if (!path.startsWith('/')) throw new CliError(`invoke: the path must start with / (got '${path}')`, 2)

  const headers = new Headers()
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':')
    if (colon < 1) throw new CliError(`invoke: header '${h}' is not "Name: value"`, 2)
    headers.append(h.slice(0, colon).trim(), h.slice(colon + 1).trim())
  }
  const body = values.data === undefined ? undefined : readData(values.data)
  if (body !== undefined && !headers.has('content-type')) {
    headers.set(
      'content-type',
      /^\s*[[{]/.test(body) ? 'application/json' : 'application/x-www-form-urlencoded',
    )
  }

  return withLocalDatabase(env, values['data-dir'], (dbEnv) =>
    invoke(loadConfig(dbEnv), method, path, headers, body),
  )
}

async function invoke(
  config: Config,
  method: string,
  path: string,
  headers: Headers,
  body: string | undefined,
): Promise<number> {
  const log = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    destination: process.stderr,
  })
  const runtime = new Runtime(config, { log })
  try {
    const app = createApp(runtime, ROUTES)
    const res = await app.request(new URL(path, `${config.publicUrl}/`).href, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    })
    const lines = [`HTTP/1.1 ${res.status} ${res.statusText || STATUS_CODES[res.status] || ''}`.trimEnd()]
    res.headers.forEach((value, name) => {
      lines.push(`${name}: ${value}`)
    })
    process.stdout.write(`${lines.join('\n')}\n\n`)
    const text = method === 'HEAD' ? '' : await res.text()
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`)
    return 0
  } finally {
    await runtime.close()
    flushLogger(log)
  }
}

function readData(data: string): string {
  if (!data.startsWith('@')) return data
  try {
    return readFileSync(data === '@-' ? 0 : data.slice(1), 'utf8')
  } catch (err) {
    throw new CliError(`invoke: cannot read ${data.slice(1)}: ${(err as Error).message}`, 2)
  }
}
