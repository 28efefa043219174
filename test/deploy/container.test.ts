/**
 * The artifact as the container image runs it: dist/ and the native addon alone, in a
 * directory nobody may write to, as an unprivileged user, configured by the environment only.
 */
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { artifactPath, type Finished, logRecords, waitForStatus } from '../support/artifact.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
// The nobody user: any unprivileged UID would do. Only root can switch to it.
const NOBODY = 65534
const asRoot = process.getuid?.() === 0

// What the Dockerfile's runtime stage copies from dist/ (checked against the Dockerfile below).
const IMAGE_DIST_FILES = ['zenoauth.mjs', 'zenoauth.cjs', 'zenoauth.cjs.map', 'routes.json']

let image: string
let db: TestDatabase

/** Copies what the Dockerfile copies into the runtime stage, then takes write access away. */
function buildImageTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'zenoauth-image-'))
  const dist = path.dirname(artifactPath())
  for (const f of IMAGE_DIST_FILES) cpSync(path.join(dist, f), path.join(dir, 'app/dist', f))
  cpSync(path.join(ROOT, 'node_modules/@node-rs'), path.join(dir, 'app/node_modules/@node-rs'), {
    recursive: true,
    dereference: true,
  })
  const lock = (p: string) => {
    const st = statSync(p)
    if (st.isDirectory()) for (const e of readdirSync(p)) lock(path.join(p, e))
    chmodSync(p, st.isDirectory() ? 0o555 : 0o444)
  }
  lock(dir)
  return dir
}

function run(args: string[], env: Record<string, string>) {
  // No PATH, no HOME: only the configuration, as in the Knative manifests.
  const child = spawn(process.execPath, [path.join(image, 'app/dist/zenoauth.mjs'), ...args], {
    cwd: path.join(image, 'app'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d
  })
  const exited = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return { child, exited }
}

beforeAll(async () => {
  image = buildImageTree()
  db = await createTestDatabase({ empty: true })
})

afterAll(() => {
  if (image) {
    chmodSync(image, 0o755)
    const unlock = (p: string) => {
      const st = statSync(p)
      if (st.isDirectory()) {
        chmodSync(p, 0o755)
        for (const e of readdirSync(p)) unlock(path.join(p, e))
      }
    }
    unlock(image)
    rmSync(image, { recursive: true, force: true })
  }
})

describe('the container image', () => {
  it('is built as this test runs it: the same files, a numeric non-root user, one Node major for build and runtime', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    const copied = /COPY --from=build --chown=0:0 ((?:\/src\/dist\/\S+ )+)\/app\/dist\//.exec(dockerfile)?.[1]
    expect(
      copied
        ?.trim()
        .split(' ')
        .map((f) => path.basename(f)),
    ).toEqual(IMAGE_DIST_FILES)
    expect(dockerfile).toContain(
      'COPY --from=build --chown=0:0 /addons/node_modules/@node-rs /app/node_modules/@node-rs',
    )
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1])
    expect(users.at(-1)).toMatch(/^[1-9]\d*:[1-9]\d*$/)
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    // Docker's build argument, not a template: both stages name the same ARG.
    const major = '$' + '{NODE_MAJOR}'
    expect(froms).toEqual([
      `node:${major}-bookworm-slim`,
      `gcr.io/distroless/nodejs${major}-debian12:nonroot`,
    ])
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/dist\/zenoauth.mjs"\]/)
  })

  it('has nothing writable: the tree the test runs is read-only for the user it runs as', () => {
    expect(statSync(path.join(image, 'app/dist')).mode & 0o222).toBe(0)
    expect(statSync(path.join(image, 'app/dist/zenoauth.cjs')).mode & 0o222).toBe(0)
  })

  it('migrates as a Job would, then serves and is ready, unprivileged and read-only', async () => {
    const migrate = run(['migrate'], { NODE_ENV: 'production', DATABASE_URL: db.ownerUrl })
    const migrated = await migrate.exited
    expect(migrated.stderr).toBe('')
    expect(migrated.code).toBe(0)
    expect(migrated.stdout).toMatch(/^applied: 0001_/)

    const port = await freePort()
    // The first organization, made once by an operator with the same image.
    const bootstrap = await run(
      ['bootstrap', '--org', 'acme', '--admin-email', 'admin@acme.test', '--json'],
      {
        NODE_ENV: 'production',
        DATABASE_URL: db.appUrl,
        DATABASE_MIGRATION_URL: db.ownerUrl,
        MASTER_KEY: TEST_MASTER_KEY,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
      },
    ).exited
    expect(bootstrap.stderr).toBe('')
    expect(bootstrap.code).toBe(0)
    expect(JSON.parse(bootstrap.stdout).organization.slug).toBe('acme')

    const serve = run(['serve'], {
      NODE_ENV: 'production',
      DATABASE_URL: db.appUrl,
      MASTER_KEY: TEST_MASTER_KEY,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      PLANES: 'auth',
      MIGRATE_ON_START: 'false',
      TRUSTED_PROXY_CIDRS: '10.0.0.0/8',
    })
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`)
      if (asRoot) {
        const status = readFileSync(`/proc/${serve.child.pid}/status`, 'utf8')
        expect(status).toMatch(new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'))
      }
      const discovery = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)
      expect(discovery.status).toBe(200)
      // A password hash loads the native addon from the image's node_modules.
      const login = await fetch(`http://127.0.0.1:${port}/auth/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: 'zenoauth-csrf=container-test-csrf-value-000000000000000000',
        },
        body: 'email=nobody%40example.com&password=not+the+password&csrf=container-test-csrf-value-000000000000000000',
      })
      expect(login.status).toBe(401)
    } finally {
      serve.child.kill('SIGTERM')
    }
    const done = await serve.exited
    expect(done.code).toBe(0)
    const errors = logRecords(done.stdout).filter((r) => (r.level as number) >= 50)
    expect(errors).toEqual([])
    expect(done.stderr).toBe('')
  })
})
