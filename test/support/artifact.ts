/** Running the built artifact as a process, as a container or a developer would. */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { inject } from 'vitest'

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export function artifactPath(): string {
  return path.join(inject('artifactDir'), 'zenoauth.mjs')
}

/** Only what the test passes, plus PATH and HOME: nothing leaks in from the test runner. */
export function cleanEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<Finished>
}

export function startArtifact(
  args: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
  nodeFlags: readonly string[] = [],
): Running {
  return spawnCollecting([process.execPath, ...nodeFlags, artifactPath(), ...args], env, { cwd })
}

/**
 * Spawns `argv` with a clean environment and collects its output. `detached` makes it the
 * leader of a process group of its own, as a terminal runs a command (what Ctrl-C signals).
 */
export function spawnCollecting(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string | undefined; detached?: boolean } = {},
): Running {
  const child = spawn(argv[0]!, argv.slice(1), {
    env: cleanEnv(env),
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** The JSON log records a process wrote, one a line. */
export function logRecords(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** Runs a command to completion, killing it after `timeoutMs`. */
export async function runArtifact(
  args: string[],
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; stdin?: string; cwd?: string } = {},
): Promise<Finished> {
  const run = startArtifact(args, env, options.cwd)
  run.child.stdin?.end(options.stdin ?? '')
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  const finished = await run.exited
  clearTimeout(timer)
  return finished
}

/** Polls `url` until it answers `status` (bounded: at most `attempts` tries, 50 ms apart). */
export async function waitForStatus(url: string, status = 200, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (res.status === status) return
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not answer ${status}`)
}
