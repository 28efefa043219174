/**
 * The artifact's entry point: `node dist/zenoauth.mjs <command>` (DESIGN.md §3).
 * This is the one module that reads process.env; it hands it to loadConfig.
 */
import { ConfigError } from '../config.ts'
import { bootstrapCommand } from './bootstrap.ts'
import { CliError } from './cli-error.ts'
import { invokeCommand } from './invoke.ts'
import { migrateCommand } from './migrate.ts'
import { serveCommand } from './serve.ts'
import { startCommand } from './start.ts'

const USAGE = `Usage: zenoauth <command> [options]

Commands:
  serve                         serve the planes in PLANES on PORT
  migrate                       apply pending database migrations and exit
  bootstrap --org <slug> --admin-email <email> [--name <name>] [--domain <host>] [--json]
                                create an organization, its first admin user and an admin
                                API client; prints the secrets once
  invoke <METHOD> <PATH> [-d <body>] [-H 'Name: value']...
                                run one request through the route table in-process (no port)
                                and print status, headers and body
  start [--data-dir <dir>] [--admin-email <email>]
                                zero-setup: with no DATABASE_URL, an embedded PostgreSQL
                                under .data/; migrate, bootstrap on first run, serve
  help                          this text

Configuration comes from the environment; see README.md.`

const COMMANDS: Record<string, (args: string[], env: NodeJS.ProcessEnv) => Promise<number>> = {
  serve: serveCommand,
  migrate: migrateCommand,
  bootstrap: bootstrapCommand,
  invoke: invokeCommand,
  start: startCommand,
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE)
    return name ? 0 : 2
  }
  const command = COMMANDS[name]
  if (!command) {
    console.error(`zenoauth: unknown command '${name}'\n\n${USAGE}`)
    return 2
  }
  return command(args, process.env)
}

main(process.argv.slice(2)).then(
  (code) => {
    // Commands that keep serving resolve only when they are done; the others exit now.
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      for (const line of err.problems) console.error(`zenoauth: configuration error: ${line}`)
      process.exit(2)
    }
    if (err instanceof CliError) {
      console.error(`zenoauth: ${err.message}`)
      process.exit(err.exitCode)
    }
    console.error('zenoauth: unexpected error:', err)
    process.exit(1)
  },
)
