/**
 * The artifact's entry point: `node dist/zenoauth.mjs <command>` (DESIGN.md §3).
 * This is the one module that reads process.env; it hands it to loadConfig.
 */
import { ConfigError } from '../config.ts'
import { CliError } from './cli-error.ts'

const USAGE = `Usage: zenoauth <command> [options]

Commands:
  serve                         serve the planes in PLANES on PORT
  migrate [--data-dir <dir>]    apply pending database migrations and exit
  bootstrap --org <slug> --admin-email <email> [--name <name>] [--domain <host>] [--json]
                                create an organization, its first admin user and an admin
                                API client; prints the secrets once
  invoke <METHOD> <PATH> [-d <body>] [-H 'Name: value']... [--data-dir <dir>]
                                run one request through the route table in-process (no port)
                                and print status, headers and body
  start [--data-dir <dir>] [--admin-email <email>] [--name <organization name>]
                                zero-setup: with no DATABASE_URL, an embedded PostgreSQL
                                under .data/; migrate, bootstrap on first run, serve
  preload                       evaluate every module and exit (the build writes the
                                V8 code cache after this)
  help                          this text

migrate, bootstrap and invoke use DATABASE_URL; when it is unset, the database of npm start
(in --data-dir, default .data/), started for the command if npm start is not running.

Configuration comes from the environment; see README.md.`

type Command = (args: string[], env: NodeJS.ProcessEnv) => Promise<number>

/**
 * Each command's module is loaded when the command runs: the bundle evaluates a module only
 * when it is first imported, so `serve` can open its database connection before the server's
 * other modules are evaluated (serve.ts), and `migrate` never evaluates the server's.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  migrate: async () => (await import('./migrate.ts')).migrateCommand,
  bootstrap: async () => (await import('./bootstrap.ts')).bootstrapCommand,
  invoke: async () => (await import('./invoke.ts')).invokeCommand,
  start: async () => (await import('./start.ts')).startCommand,
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE)
    return name ? 0 : 2
  }
  if (name === 'preload') {
    // Evaluates every command's modules, and those serve loads as it starts, runs none: the
    // build writes the code cache after it.
    await Promise.all(Object.values(COMMANDS).map((load) => load()))
    await (await import('./serve.ts')).loadServerModules()
    return 0
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!load) {
    console.error(`zenoauth: unknown command '${name}'\n\n${USAGE}`)
    return 2
  }
  return (await load())(args, process.env)
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
