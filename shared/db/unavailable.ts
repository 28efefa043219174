/**
 * What the layers below HTTP throw when something the service needs is not there (the
 * database unreachable, no signing key yet): a state of the service, not a defect. The error
 * serializer answers it 503 with Retry-After (http/serialize-error.ts); nothing below HTTP
 * knows about status codes.
 */
export class Unavailable extends Error {
  override readonly name = 'Unavailable'

  constructor(detail: string, cause?: unknown) {
    super(detail, cause === undefined ? undefined : { cause })
  }
}
