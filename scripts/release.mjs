#!/usr/bin/env node
/**
 * `npm run release -- <version>`: moves the deployment to a new release in one step.
 *
 * A release pins everything to its version (README, "Rolling out and back"): the image tag,
 * each plane's revision name in its Knative Service and in the HTTPRoute that sends traffic to
 * exactly that revision, and the migration Job's name (a new release is a new Job). This
 * rewrites all of them from package.json's current version to `<version>`, and package.json and
 * package-lock.json with them, or changes nothing: every file must hold the current version
 * where expected, and the new version must be a semantic version above the current one.
 *
 *   node scripts/release.mjs <version> [--root <dir>]
 *
 * Exits 2 with one line on stderr when it refuses. Commit, build and push the image tagged
 * `<version>`, then apply the overlay.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import semver from 'semver'

const PLANES = ['auth', 'admin', 'pim', 'break-glass']
// Semantic versions whose revision-name form is a DNS label part: lowercase, no build metadata.
// Their order is semver's (`semver.gt`).
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9a-z]+(?:\.[0-9a-z]+)*)?$/

/** The revision-name form of a version: `0.2.0-rc.1` → `v0-2-0-rc-1` (a DNS label part). */
const revision = (version) => `v${version.replaceAll('.', '-')}`

class Refusal extends Error {}

/** Each file and the exact strings in it that carry the version, old and new. */
function edits(from, to) {
  const r = (name) => [`${name}-${revision(from)}`, `${name}-${revision(to)}`]
  const tag = [`newTag: ${from}`, `newTag: ${to}`]
  return [
    ...PLANES.flatMap((plane) => [
      { file: `knative/overlays/production/planes/${plane}/service.yaml`, swaps: [r(`zenoauth-${plane}`)] },
      { file: `knative/overlays/production/planes/${plane}/httproute.yaml`, swaps: [r(`zenoauth-${plane}`)] },
    ]),
    { file: 'knative/overlays/production/database/migrate-job.yaml', swaps: [r('zenoauth-migrate')] },
    { file: 'knative/overlays/production/kustomization.yaml', swaps: [tag] },
    { file: 'knative/overlays/dev/kustomization.yaml', swaps: [tag] },
    { file: 'knative/bootstrap/kustomization.yaml', swaps: [tag] },
    { file: 'Dockerfile', swaps: [[`zenoauth:${from}`, `zenoauth:${to}`]] },
  ]
}

/** Every change, computed and checked before any file is written. */
export function plan(root, to) {
  const pkgFile = path.join(root, 'package.json')
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'))
  const from = pkg.version
  if (!SEMVER.test(to))
    throw new Refusal(`'${to}' is not a version (major.minor.patch[-pre.release], lowercase)`)
  if (!SEMVER.test(from)) throw new Refusal(`package.json's version '${from}' is not a version`)
  if (!semver.gt(to, from)) throw new Refusal(`${to} is not above the current version ${from}`)
  const writes = []
  for (const { file, swaps } of edits(from, to)) {
    let text = readFileSync(path.join(root, file), 'utf8')
    for (const [old, next] of swaps) {
      if (!text.includes(old)) throw new Refusal(`${file} does not hold '${old}': it is not at ${from}`)
      text = text.replaceAll(old, next)
    }
    writes.push({ file, text })
  }
  writes.push({ file: 'package.json', text: `${JSON.stringify({ ...pkg, version: to }, null, 2)}\n` })
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'))
  if (lock.version !== from || lock.packages?.['']?.version !== from)
    throw new Refusal(`package-lock.json is not at ${from}: run npm install first`)
  lock.version = to
  lock.packages[''].version = to
  writes.push({ file: 'package-lock.json', text: `${JSON.stringify(lock, null, 2)}\n` })
  return { from, to, writes }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      root: { type: 'string', default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..') },
    },
  })
  try {
    if (positionals.length !== 1) throw new Refusal('usage: npm run release -- <version>')
    const { from, to, writes } = plan(values.root, positionals[0])
    for (const { file, text } of writes) writeFileSync(path.join(values.root, file), text)
    console.log(`release ${from} → ${to}: ${writes.map((w) => w.file).join(', ')}`)
    console.log(`revisions and the migration Job are now *-${revision(to)}; build and push the image ${to}.`)
  } catch (err) {
    if (!(err instanceof Refusal)) throw err
    console.error(`release: ${err.message}`)
    process.exit(2)
  }
}
