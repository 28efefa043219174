/**
 * `npm run release -- <version>` on a copy of the repository: every pinned name and tag moves
 * to the new version, the rendered production overlay still holds every invariant (revision
 * names agree between Services and HTTPRoutes), and a refusal changes no file.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import { checkProduction, type Doc, hasKubectl, ROOT, type Route, render } from '../support/manifests.ts'

const SCRIPT = path.join(ROOT, 'scripts/release.mjs')
const current = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string
const [major, minor, patch] = current.split(/[.-]/).map(Number) as [number, number, number]
const next = `${major}.${minor}.${patch + 1}`
const dashed = (v: string) => `v${v.replaceAll('.', '-')}`

let root: string
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'zenoauth-release-'))
  for (const f of ['package.json', 'package-lock.json', 'Dockerfile'])
    cpSync(path.join(ROOT, f), path.join(root, f))
  cpSync(path.join(ROOT, 'knative'), path.join(root, 'knative'), { recursive: true })
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

const release = (...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args, '--root', root], { encoding: 'utf8' })

/** Every file of the copy, path → text. */
function snapshot(): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else files.set(path.relative(root, p), readFileSync(p, 'utf8'))
    }
  }
  walk(root)
  return files
}

describe('npm run release', () => {
  it('moves the image tag, revision names, migration Job and package version together', () => {
    const res = release(next)
    expect(res.stderr).toBe('')
    expect(res.status).toBe(0)
    const files = snapshot()
    for (const [file, text] of files) {
      if (file === 'package-lock.json') continue
      expect(text, file).not.toContain(dashed(current))
      expect(text, file).not.toMatch(new RegExp(`(newTag: |zenoauth:)${current.replaceAll('.', '\\.')}\\b`))
    }
    expect(JSON.parse(files.get('package.json')!).version).toBe(next)
    const lock = JSON.parse(files.get('package-lock.json')!)
    expect([lock.version, lock.packages[''].version]).toEqual([next, next])
  })

  it.skipIf(!hasKubectl())(
    'leaves a production overlay that holds every invariant, at the new release',
    () => {
      expect(release(next).status).toBe(0)
      const routes: Route[] = JSON.parse(
        readFileSync(path.join(inject('artifactDir'), 'routes.json'), 'utf8'),
      )
      const docs = render(path.join(root, 'knative/overlays/production'))
      expect(checkProduction(docs, routes)).toEqual([])
      const services = docs.filter((d) => d.apiVersion.startsWith('serving.knative.dev'))
      expect(services.map((s: Doc) => s.spec.template.metadata.name).sort()).toEqual(
        ['admin', 'auth', 'break-glass', 'pim'].map((p) => `zenoauth-${p}-${dashed(next)}`),
      )
      expect(docs.find((d) => d.kind === 'Job')?.metadata.name).toBe(`zenoauth-migrate-${dashed(next)}`)
      const images = new Set(services.map((s: Doc) => s.spec.template.spec.containers[0].image))
      expect([...images]).toEqual([`ghcr.io/zenoauth/zenoauth:${next}`])
    },
  )

  it.each([
    [current, 'is not above the current version'],
    [`${major}.${minor}.${patch}-rc.1`, 'is not above the current version'],
    ['latest', 'is not a version'],
    ['1.0', 'is not a version'],
    ['1.0.0-RC1', 'is not a version'],
  ])('refuses %s and changes nothing', (version, message) => {
    const before = snapshot()
    const res = release(version)
    expect(res.status).toBe(2)
    expect(res.stderr).toContain(message)
    expect(snapshot()).toEqual(before)
  })

  it('refuses a tree where one file is out of step, before writing any', () => {
    const route = path.join(root, 'knative/overlays/production/planes/pim/httproute.yaml')
    writeFileSync(route, readFileSync(route, 'utf8').replaceAll(dashed(current), 'v0-0-9'))
    const before = snapshot()
    const res = release(next)
    expect(res.status).toBe(2)
    expect(res.stderr).toBe(
      `release: knative/overlays/production/planes/pim/httproute.yaml does not hold 'zenoauth-pim-${dashed(current)}': it is not at ${current}\n`,
    )
    expect(snapshot()).toEqual(before)
  })

  it('takes a pre-release above the current version, as a DNS-safe revision name', () => {
    const pre = `${major}.${minor + 1}.0-rc.1`
    expect(release(pre).status).toBe(0)
    const service = readFileSync(
      path.join(root, 'knative/overlays/production/planes/auth/service.yaml'),
      'utf8',
    )
    expect(service).toContain(`zenoauth-auth-v${major}-${minor + 1}-0-rc-1`)
    // And the release after it.
    expect(release(`${major}.${minor + 1}.0`).status).toBe(0)
    expect(
      execFileSync(
        'grep',
        ['-c', `newTag: ${major}.${minor + 1}.0$`, path.join(root, 'knative/bootstrap/kustomization.yaml')],
        { encoding: 'utf8' },
      ).trim(),
    ).toBe('1')
  })
})
