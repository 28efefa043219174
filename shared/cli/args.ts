/** Command-line parsing shared by the commands. */
import { parseArgs } from 'node:util'
import { CliError } from './cli-error.ts'

type ArgOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options']

/**
 * node:util parseArgs, strict.
 * @throws CliError (exit 2) for an unknown option or a missing value.
 */
export function parseCliArgs<O extends ArgOptions>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options: options as NonNullable<O>, allowPositionals, strict: true })
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
}
