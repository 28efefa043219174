/**
 * Once per test run: a PostgreSQL (DATABASE_URL when set, else an embedded one in a
 * temporary folder), the runtime roles, a migrated template database that every test file
 * copies, and the built artifact for tests that run it as a process.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import {
  type EmbeddedPostgres,
  ensureRuntimeRoles,
  startEmbeddedPostgres,
  withDatabase,
} from '../../shared/db/embedded.ts'
import { migrate } from '../../shared/db/migrate.ts'

export const TEMPLATE_DATABASE = 'zenoauth_test_template'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the test cluster (its database part is replaced per test file). */
    superuserUrl: string
    /** The password of zenoauth_app, the runtime's login role. */
    appPassword: string
    templateDatabase: string
    /** dist/ of the artifact built for this run. */
    artifactDir: string
  }
}

const ROOT = path.resolve(import.meta.dirname, '../..')

export default async function setup(project: TestProject) {
  mkdirSync(path.join(ROOT, 'node_modules/.cache'), { recursive: true })
  const scratch = mkdtempSync(path.join(tmpdir(), 'zenoauth-test-'))
  // PostgreSQL runs as the `postgres` user when the tests run as root: it must reach its folder.
  chmodSync(scratch, 0o755)
  // Inside the project, so the artifact's external packages (@node-rs/argon2) resolve from
  // node_modules as they do next to dist/.
  const artifactDir = mkdtempSync(path.join(ROOT, 'node_modules/.cache/zenoauth-test-dist-'))
  execFileSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--outdir', artifactDir], { stdio: 'pipe' })

  let embedded: EmbeddedPostgres | undefined
  let superuserUrl = process.env.DATABASE_URL
  const appPassword = 'zenoauth-test'
  if (superuserUrl) {
    await ensureRuntimeRoles(superuserUrl, appPassword)
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'db'), ephemeral: true })
    superuserUrl = embedded.ownerUrl('postgres')
    await ensureRuntimeRoles(superuserUrl, appPassword)
  }

  const admin = new pg.Client({ connectionString: superuserUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`)
  await admin.end()
  const template = new pg.Client({ connectionString: withDatabase(superuserUrl, TEMPLATE_DATABASE) })
  await template.connect()
  await migrate(template)
  await template.end()

  project.provide('superuserUrl', superuserUrl)
  project.provide('appPassword', appPassword)
  project.provide('templateDatabase', TEMPLATE_DATABASE)
  project.provide('artifactDir', artifactDir)

  return async () => {
    await embedded?.stop()
    rmSync(scratch, { recursive: true, force: true })
    rmSync(artifactDir, { recursive: true, force: true })
  }
}
