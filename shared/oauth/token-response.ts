/** Token endpoint responses (RFC 6749 §5.1): JSON, never cached. */
import { json, type Reply } from '../http/reply.ts'

export interface TokenResponse {
  readonly access_token: string
  readonly token_type: 'Bearer'
  readonly expires_in: number
  readonly scope?: string
  readonly refresh_token?: string
  readonly id_token?: string
  readonly [member: string]: unknown
}

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

export function tokenResponse(body: TokenResponse): Reply {
  return json(body, 200, NO_STORE)
}
