/**
 * Key rotation across two processes sharing one database: the rotation reaches the other
 * process's JWKS within about a second (LISTEN/NOTIFY), and tokens signed by the old key
 * still verify.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { type Running, runArtifact, startArtifact, waitForStatus } from '../support/artifact.ts'
import { createTestDatabase } from '../support/database.ts'
import { basic } from '../support/oauth.ts'
import { TEST_MASTER_KEY } from '../support/runtime.ts'

const running: Running[] = []
afterAll(async () => {
  for (const r of running) r.child.kill('SIGTERM')
  await Promise.all(running.map((r) => r.exited))
})

describe('two processes, one database', () => {
  it('see a rotation within about a second, and still verify tokens of the old key', async () => {
    const db = await createTestDatabase()
    const [portA, portB] = [await freePort(), await freePort()]
    const publicUrl = `http://127.0.0.1:${portA}`
    const env = (port: number) => ({
      DATABASE_URL: db.appUrl,
      DATABASE_MIGRATION_URL: db.ownerUrl,
      MASTER_KEY: TEST_MASTER_KEY,
      PUBLIC_URL: publicUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    })
    const boot = await runArtifact(
      ['bootstrap', '--org', 'acme', '--admin-email', 'a@acme.test', '--json'],
      env(portA),
    )
    const { admin_client } = JSON.parse(boot.stdout)
    for (const port of [portA, portB]) {
      const r = startArtifact(['serve'], env(port))
      running.push(r)
      await waitForStatus(`http://127.0.0.1:${port}/health/readiness`)
    }
    const a = `http://127.0.0.1:${portA}`
    const b = `http://127.0.0.1:${portB}`
    const token = async (base: string) => {
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(admin_client.client_id, admin_client.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      })
      return ((await res.json()) as { access_token: string }).access_token
    }
    const kids = async (base: string) =>
      ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
        (k) => k.kid,
      )

    const old = await token(a)
    const oldKid = decodeProtectedHeader(old).kid
    expect(await kids(b)).toContain(oldKid)
    // Let B's LISTEN connection come up (it starts after the server listens).
    await new Promise((r) => setTimeout(r, 300))

    const rotated = await fetch(`${a}/api/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${old}`, 'content-type': 'application/json' },
      body: JSON.stringify({ alg: 'EdDSA' }),
    })
    expect(rotated.status).toBe(200)
    const {
      rotated: [r],
    } = (await rotated.json()) as { rotated: { current_kid: string; next_kid: string }[] }
    const started = performance.now()
    let seenAfterMs = -1
    for (let i = 0; i < 100; i++) {
      if ((await kids(b)).includes(r!.next_kid)) {
        seenAfterMs = performance.now() - started
        break
      }
      await new Promise((res) => setTimeout(res, 20))
    }
    expect(seenAfterMs).toBeGreaterThanOrEqual(0)
    expect(seenAfterMs).toBeLessThan(1000)

    // B signs with the new key at once, and both processes still publish the old one.
    expect(decodeProtectedHeader(await token(b)).kid).toBe(r!.current_kid)
    for (const base of [a, b]) {
      const { payload } = await jwtVerify(old, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)), {
        issuer: publicUrl,
        typ: 'at+jwt',
      })
      expect(payload.client_id).toBe(admin_client.client_id)
    }
  })
})
