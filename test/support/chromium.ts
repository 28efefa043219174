/** Debian's Chromium, driven by playwright-core (never a downloaded browser). */
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Whether the browser tests can run. In CI a missing Chromium fails the run (`.ci/run`
 * installs it); elsewhere the file that asks says loudly that it skipped.
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`)
  console.warn(
    `\n*** SKIPPED: ${what}: no Chromium at ${CHROMIUM} (apt-get install chromium; CI installs it) ***\n`,
  )
  return false
}

/** Headless, sandbox off (root in CI), and none of Chromium's own calls home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
