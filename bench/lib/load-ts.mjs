/** Imports a TypeScript module of the project by bundling it with esbuild first. */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'

export async function importTs(root, rel) {
  return import(pathToFileURL(await compileTs(root, rel)).href)
}

/** Bundles a TypeScript module of the project into an ES module file; resolves to its path. */
export async function compileTs(root, rel) {
  // Inside the project, so the bundle's external packages resolve from node_modules.
  const outdir = path.join(root, 'node_modules/.cache/zenoauth-bench')
  mkdirSync(outdir, { recursive: true })
  const outfile = path.join(outdir, `${rel.replace(/[^A-Za-z0-9]/g, '_')}.mjs`)
  await esbuild.build({
    entryPoints: [path.join(root, rel)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  })
  return outfile
}
