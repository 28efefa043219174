/** Authorization Server Metadata — RFC 8414 §3. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { metadataResponse, serverMetadata } from '../../shared/oauth/discovery.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/oauth-authorization-server',
  handler: (c, ctx) => metadataResponse(c, ctx, 'oauth-authorization-server', serverMetadata),
})
