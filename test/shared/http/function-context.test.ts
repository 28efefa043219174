/**
 * The handler context both transports build (shared/http/function-context.ts).
 */
import { Readable } from 'node:stream'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../../functions/routes.gen.ts'
import type { RequestMeta } from '../../../shared/http/define-function.ts'
import { type FunctionRequest, functionContext, invocable } from '../../../shared/http/function-context.ts'
import { createTenant, type Tenant } from '../../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

const META: RequestMeta = { requestId: 'req-ctx', ip: '192.0.2.1', userAgent: 'test' }

function tokenRequest(body: string, onLog: () => void): FunctionRequest {
  const headers: Record<string, string> = {
    host: tenant.host,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(body.length),
  }
  return {
    method: 'POST',
    header: (name) => headers[name],
    params: () => ({}),
    searchParams: () => new URLSearchParams(),
    incoming: Readable.from([Buffer.from(body)]),
    raw: undefined,
    meta: META,
    log: () => {
      onLog()
      return t.runtime.log.child({ requestId: META.requestId })
    },
  }
}

describe('functionContext', () => {
  const token = invocable(ROUTES.find((r) => r.path === '/oauth/token')!.fn)

  it('gives the organization of the Host, the validated body and the request meta', async () => {
    const ctx = await functionContext(
      t.runtime,
      token,
      tokenRequest('grant_type=client_credentials&scope=a', () => {}),
    )
    expect(ctx.org.issuer).toBe(tenant.issuer)
    expect(ctx.body).toEqual({ grant_type: 'client_credentials', scope: 'a' })
    expect(ctx.request).toBe(META)
    expect(ctx.header('content-type')).toBe('application/x-www-form-urlencoded')
  })

  it('makes the logger once, on demand, through a getter the contexts share', async () => {
    let made = 0
    const ctx = await functionContext(
      t.runtime,
      token,
      tokenRequest('grant_type=x', () => made++),
    )
    expect(made).toBe(0)
    expect(ctx.log).toBe(ctx.log)
    expect(made).toBe(1)
    // Regression: an own getter (an object literal's `get log()`) gave every context a hidden
    // class of its own, which V8 kept until a major GC with the whole request behind it
    // (~2 MB promoted per scavenge under the token load).
    expect(Object.getOwnPropertyDescriptor(ctx, 'log')).toBeUndefined()
    const other = await functionContext(
      t.runtime,
      token,
      tokenRequest('grant_type=y', () => {}),
    )
    expect(Object.getPrototypeOf(other)).toBe(Object.getPrototypeOf(ctx))
  })
})
