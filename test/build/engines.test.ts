/**
 * The project supports Node.js 20.19 (package.json `engines`): every package the artifact or
 * the container image can load must say it runs there. Development-only packages may ask for
 * more (the README's "Dependencies" says which and why).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import semver from 'semver'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SUPPORTED = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
).engines.node

describe('Node.js versions', () => {
  it('every runtime dependency, direct or not, admits the oldest supported Node.js', () => {
    const oldest = semver.minVersion(SUPPORTED)!.version
    const dirs = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((d) => d && d !== ROOT)
    expect(dirs.length).toBeGreaterThan(5)
    const refusing = dirs.flatMap((dir) => {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name: string
        version: string
        engines?: { node?: string }
      }
      const range = pkg.engines?.node
      return range && !semver.satisfies(oldest, range) ? [`${pkg.name}@${pkg.version} (node ${range})`] : []
    })
    expect(refusing, `runtime packages that do not admit Node.js ${oldest}`).toEqual([])
  })
})
