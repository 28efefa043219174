import { beforeAll, describe, expect, it } from 'vitest'
import { runArtifact } from '../support/artifact.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

let db: TestDatabase
const env = () => ({
  DATABASE_URL: db.appUrl,
  MASTER_KEY: TEST_MASTER_KEY,
  PUBLIC_URL: 'http://localhost:8080',
  PORT: '1',
})

beforeAll(async () => {
  db = await createTestDatabase()
})

describe('zenoauth invoke', () => {
  it('prints status, headers and body of GET /health/readiness without opening a port', async () => {
    // PORT=1 is privileged: had invoke tried to listen, it would have failed.
    const r = await runArtifact(['invoke', 'GET', '/health/readiness', '-H', 'x-request-id: invoke-1'], env())
    expect(r.code).toBe(0)
    const [head, body] = r.stdout.split('\n\n')
    const lines = head!.split('\n')
    expect(lines[0]).toBe('HTTP/1.1 200 OK')
    expect(lines).toContain('content-type: application/json')
    expect(lines).toContain('cache-control: no-store')
    expect(lines).toContain('x-request-id: invoke-1')
    expect(body).toBe('{"status":"ok"}\n')
    expect(r.stderr).not.toContain('listening')
  })

  it('prints error responses as the router would answer them', async () => {
    const r = await runArtifact(['invoke', 'get', '/no/such/thing'], env())
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^HTTP\/1\.1 404 Not Found\n/)
    expect(r.stdout).toContain('content-type: application/problem+json')
    expect(r.stdout).toContain('"code":"not_found"')
  })

  it.each([
    [['GET'], 'zenoauth: usage: invoke <METHOD> <PATH> [-d <body>|@file] [-H "Name: value"]...\n'],
    [['FETCH', '/x'], "zenoauth: invoke: unknown method 'FETCH'\n"],
    [['GET', 'health'], "zenoauth: invoke: the path must start with / (got 'health')\n"],
    [['GET', '/x', '-H', 'nocolon'], 'zenoauth: invoke: header \'nocolon\' is not "Name: value"\n'],
  ])('rejects %j with exit code 2', async (args, stderr) => {
    const r = await runArtifact(['invoke', ...args], env())
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(stderr)
  })
})
