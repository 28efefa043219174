import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const BUILD = path.join(ROOT, 'build.mjs')

const fn = (
  plane: string,
  method: string,
  urlPath: string,
  extra = '',
  scope = urlPath.startsWith('/api/'),
) => `${extra}
import { defineFunction } from '../../shared/http/define-function.ts'
export default defineFunction({
  plane: '${plane}',
  method: ${method.startsWith('[') ? method : `'${method}'`},
  path: '${urlPath}',${scope ? "\n  scope: 'users:read'," : ''}
  answer: () => json({}),
})
`

let dirs: string[] = []
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  dirs = []
})

/** A project folder holding only what build.mjs reads, with these function files. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'zenoauth-build-'))
  dirs.push(root)
  mkdirSync(path.join(root, 'shared/db/migrations'), { recursive: true })
  copyFileSync(path.join(ROOT, 'shared/planes.json'), path.join(root, 'shared/planes.json'))
  writeFileSync(path.join(root, 'shared/db/migrations/0001_first.sql'), 'SELECT 1;\n')
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true })
    writeFileSync(path.join(root, rel), text)
  }
  return root
}

function run(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BUILD, '--root', root, ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Generates the tables, then checks: the failures of a well-generated project are rule violations. */
function check(files: Record<string, string>) {
  const root = project(files)
  run(root, '--generate')
  return run(root, '--check')
}

const VALID = {
  'functions/auth/token.ts': fn('auth', 'POST', '/oauth/token'),
  'functions/admin/apps-list.ts': fn('admin', 'GET', '/api/v1/applications'),
  'functions/pim/requests.ts': fn('pim', 'GET', '/api/v1/pim/requests'),
  'functions/break-glass/activate.ts': fn('break-glass', 'POST', '/api/v1/pim/break-glass/activate'),
  'functions/break-glass/emergency-login.ts': fn('break-glass', '["GET", "POST"]', '/auth/emergency-login'),
}

describe('node build.mjs --check', () => {
  it('passes on the repository itself', () => {
    const r = spawnSync(process.execPath, [BUILD, '--check'], { encoding: 'utf8', cwd: ROOT })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('passes on a valid project and generates a sorted route table', () => {
    const root = project(VALID)
    expect(run(root, '--generate').status).toBe(0)
    const r = run(root, '--check')
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const table = readFileSync(path.join(root, 'functions/routes.gen.ts'), 'utf8')
    const paths = [...table.matchAll(/path: '([^']+)'/g)].map((m) => m[1])
    expect(paths).toEqual([
      '/api/v1/applications',
      '/api/v1/pim/break-glass/activate',
      '/api/v1/pim/requests',
      '/auth/emergency-login',
      '/oauth/token',
    ])
    expect(table).toContain("methods: ['GET', 'POST'], path: '/auth/emergency-login'")
    expect(readFileSync(path.join(root, 'shared/db/migrations.gen.ts'), 'utf8')).toContain(
      "{ name: '0001_first', sql: m0001 }",
    )
  })

  it('fails on a stale routes.gen.ts', () => {
    const root = project(VALID)
    run(root, '--generate')
    writeFileSync(path.join(root, 'functions/auth/revoke.ts'), fn('auth', 'POST', '/oauth/revoke'))
    const r = run(root, '--check')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      'build: functions/routes.gen.ts: stale; run `node build.mjs` and commit the result',
    )
  })

  it('fails on a stale migrations.gen.ts', () => {
    const root = project(VALID)
    run(root, '--generate')
    writeFileSync(path.join(root, 'shared/db/migrations/0002_second.sql'), 'SELECT 2;\n')
    const r = run(root, '--check')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('build: shared/db/migrations.gen.ts: stale')
  })

  it('fails on two modules with one method and path', () => {
    const r = check({ ...VALID, 'functions/auth/token-again.ts': fn('auth', 'POST', '/oauth/token') })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      'build: functions/auth/token.ts: POST /oauth/token is already defined by functions/auth/token-again.ts',
    )
  })

  it('treats paths that differ only in parameter names as one route', () => {
    const r = check({
      'functions/admin/a.ts': fn('admin', 'GET', '/api/v1/applications/:id'),
      'functions/admin/b.ts': fn('admin', '["GET", "PATCH"]', '/api/v1/applications/:applicationId'),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      'functions/admin/b.ts: GET /api/v1/applications/:applicationId is already defined by functions/admin/a.ts',
    )
  })

  it('fails on a plane that does not match the folder', () => {
    const r = check({ 'functions/admin/token.ts': fn('auth', 'POST', '/oauth/token') })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      "functions/admin/token.ts: declares plane 'auth' but lives in functions/admin/",
    )
  })

  it("fails on a path outside its plane's prefixes", () => {
    const r = check({
      'functions/auth/apps.ts': fn('auth', 'GET', '/api/v1/applications'),
      'functions/auth/emergency.ts': fn('auth', 'GET', '/auth/emergency-login'),
      'functions/pim/glass.ts': fn('pim', 'GET', '/api/v1/pim/break-glass/x'),
      'functions/admin/root.ts': fn('admin', 'GET', '/status'),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      "functions/auth/apps.ts: path /api/v1/applications is outside the prefixes of plane 'auth' (it belongs to 'admin')",
    )
    expect(r.stderr).toContain(
      "functions/auth/emergency.ts: path /auth/emergency-login is outside the prefixes of plane 'auth' (it belongs to 'break-glass')",
    )
    expect(r.stderr).toContain(
      "functions/pim/glass.ts: path /api/v1/pim/break-glass/x is outside the prefixes of plane 'pim' (it belongs to 'break-glass')",
    )
    expect(r.stderr).toContain(
      "functions/admin/root.ts: path /status is outside the prefixes of plane 'admin' (no plane owns it)",
    )
  })

  it('fails on an admin API route that declares no scope: its callers must be authenticated first', () => {
    const r = check({ ...VALID, 'functions/admin/open.ts': fn('admin', 'GET', '/api/v1/open', '', false) })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      'functions/admin/open.ts: /api/v1/open is an admin API route and declares no `scope` (its callers must be authenticated)',
    )
  })

  it('fails on a function importing a function', () => {
    const r = check({
      ...VALID,
      'functions/auth/revoke.ts': fn(
        'auth',
        'POST',
        '/oauth/revoke',
        "import token from './token.ts'\nvoid token",
      ),
      'functions/admin/apps-get.ts': fn(
        'admin',
        'GET',
        '/api/v1/applications/:id',
        "export { default as x } from '../auth/token.ts'",
      ),
      'functions/pim/lazy.ts': fn(
        'pim',
        'GET',
        '/api/v1/pim/lazy',
        "const m = () => import('../pim/requests.ts')\nvoid m",
      ),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      'functions/auth/revoke.ts: imports ./token.ts, another function; shared code belongs in shared/',
    )
    expect(r.stderr).toContain('functions/admin/apps-get.ts: imports ../auth/token.ts, another function')
    expect(r.stderr).toContain('functions/pim/lazy.ts: imports ../pim/requests.ts, another function')
  })

  it('refuses a function that is not in the one shape (answer(ctx) returning a Reply)', () => {
    const shaped = (body: string) => `import { defineFunction } from '../../shared/http/define-function.ts'
export default defineFunction({ plane: 'auth', method: 'GET', path: '/oauth/x', ${body} })
`
    const r = check({
      'functions/auth/handler.ts': shaped('handler: (c) => c.json({})'),
      'functions/auth/document.ts': shaped('document: async () => doc'),
      'functions/auth/nothing.ts': shaped('docs: undefined'),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("functions/auth/handler.ts: `handler` is not a function's shape any more")
    expect(r.stderr).toContain("functions/auth/document.ts: `document` is not a function's shape any more")
    expect(r.stderr).toContain('functions/auth/nothing.ts: declares no answer(ctx)')
  })

  it('fails on a module whose route is not declared with literals', () => {
    const r = check({
      'functions/auth/computed.ts': `import { defineFunction } from '../../shared/http/define-function.ts'
const PATH = '/oauth/x'
export default defineFunction({ plane: 'auth', method: 'GET', path: PATH, answer: () => json({}) })
`,
      'functions/auth/no-define.ts': 'export default { plane: "auth" }\n',
      'functions/auth/bad-method.ts': fn('auth', 'FETCH', '/oauth/y'),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('functions/auth/computed.ts: `path` must be a string literal starting with /')
    expect(r.stderr).toContain('functions/auth/no-define.ts: the default export must be defineFunction(')
    expect(r.stderr).toContain(
      'functions/auth/bad-method.ts: `method` must be one of GET, POST, PUT, PATCH, DELETE',
    )
  })

  it('fails on a folder that is not a plane and on misnumbered migrations', () => {
    const root = project({ 'functions/misc/x.ts': fn('auth', 'GET', '/oauth/x') })
    writeFileSync(path.join(root, 'shared/db/migrations/0003_gap.sql'), 'SELECT 3;\n')
    const r = run(root, '--check')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('functions/misc/: not a plane folder')
    expect(r.stderr).toContain('shared/db/migrations/0003_gap.sql: expected number 0002')
  })
})
