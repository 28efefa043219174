/** Interactions: authorization requests waiting on the person, by their handle. */
import { digestOf } from '../crypto/random.ts'
import { findInteraction } from '../db/authorization.ts'
import { HttpError } from '../http/errors.ts'
import type { Client } from '../oauth/clients.ts'
import type { RequestScope } from '../request-scope.ts'
import type { AuthorizationRequest } from './authorization-request.ts'
import type { Interaction } from './authorize.ts'

const HANDLE = /^[A-Za-z0-9_-]{43}$/

export interface OpenInteraction extends Interaction {
  readonly request: AuthorizationRequest
  readonly client: Client
}

/**
 * The open interaction of a handle with its request and client.
 * @throws HttpError 400 when it is unknown, finished or expired.
 */
export async function openInteraction(
  ctx: RequestScope,
  handle: string | undefined,
): Promise<OpenInteraction> {
  const expired = () =>
    new HttpError(
      400,
      'interaction_expired',
      'This sign-in request expired or was already completed. Go back to the application and start again.',
    )
  if (!handle || !HANDLE.test(handle)) throw expired()
  const pending = await ctx.db.transaction((q) => findInteraction(q, digestOf(handle)))
  if (!pending) throw expired()
  const client = await ctx.runtime.clients.find(ctx.org.id, pending.clientId)
  if (!client?.isActive) throw expired()
  return { handle, pending, client, request: pending.parameters as unknown as AuthorizationRequest }
}
