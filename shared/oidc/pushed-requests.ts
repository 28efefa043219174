/** Pushed authorization requests (RFC 9126): the request_uri handles. */
import { digestOf } from '../crypto/random.ts'

export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:'

export function requestUriOf(handle: string): string {
  return `${REQUEST_URI_PREFIX}${handle}`
}

/** The digest under which a request_uri's handle is stored, or undefined if it is not ours. */
export function requestUriDigest(requestUri: string): Buffer | undefined {
  if (!requestUri.startsWith(REQUEST_URI_PREFIX)) return undefined
  const handle = requestUri.slice(REQUEST_URI_PREFIX.length)
  return /^[A-Za-z0-9_-]{43}$/.test(handle) ? digestOf(handle) : undefined
}
