/**
 * The handler context the pipeline builds for a function (shared/http/function-context.ts).
 */
import { Readable } from 'node:stream'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../../functions/routes.gen.ts'
import type { RequestMeta } from '../../../shared/http/define-function.ts'
import { functionContext, invocable } from '../../../shared/http/function-context.ts'
import type { RequestStart, TransportRequest } from '../../../shared/http/pipeline.ts'
import { createTenant, type Tenant } from '../../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

const META: RequestMeta = { requestId: 'req-ctx', ip: '192.0.2.1', userAgent: 'test' }

function tokenRequest(body: string, onLog: () => void): [TransportRequest, RequestStart] {
  const headers: Record<string, string> = {
    host: tenant.host,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(body.length),
  }
  const req: TransportRequest = {
    method: 'POST',
    path: '/oauth/token',
    header: (name) => headers[name],
    params: () => ({}),
    searchParams: () => new URLSearchParams(),
    incoming: Readable.from([Buffer.from(body)]),
    raw: undefined,
    remoteAddress: undefined,
  }
  let logger: ReturnType<RequestStart['log']> | undefined
  const start: RequestStart = {
    requestId: META.requestId,
    meta: META,
    log: () => {
      if (!logger) {
        onLog()
        logger = t.runtime.log.child({ requestId: META.requestId })
      }
      return logger
    },
  }
  return [req, start]
}

describe('functionContext', () => {
  const token = invocable(ROUTES.find((r) => r.path === '/oauth/token')!.fn)

  it('gives the organization of the Host, the validated body and the request meta', async () => {
    const ctx = await functionContext(
      t.runtime,
      token,
      ...tokenRequest('grant_type=client_credentials&scope=a', () => {}),
    )
    expect(ctx.org.issuer).toBe(tenant.issuer)
    expect(ctx.body).toEqual({ grant_type: 'client_credentials', scope: 'a' })
    expect(ctx.request).toBe(META)
    expect(ctx.header('content-type')).toBe('application/x-www-form-urlencoded')
  })

  it('makes the logger once, on demand, through a getter the contexts share', async () => {
    let made = 0
    const ctx = await functionContext(t.runtime, token, ...tokenRequest('grant_type=x', () => made++))
    expect(made).toBe(0)
    expect(ctx.log).toBe(ctx.log)
    expect(made).toBe(1)
    // Regression: an own getter (an object literal's `get log()`) gave every context a hidden
    // class of its own, which V8 kept until a major GC with the whole request behind it
    // (~2 MB promoted per scavenge under the token load).
    expect(Object.getOwnPropertyDescriptor(ctx, 'log')).toBeUndefined()
    const other = await functionContext(t.runtime, token, ...tokenRequest('grant_type=y', () => {}))
    expect(Object.getPrototypeOf(other)).toBe(Object.getPrototypeOf(ctx))
  })
})
