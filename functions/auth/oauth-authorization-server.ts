/** Authorization Server Metadata — RFC 8414 §3. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { serveDocument } from '../../shared/http/documents.ts'
import { metadataDocument, serverMetadata } from '../../shared/oauth/discovery.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/oauth-authorization-server',
  answer: serveDocument(metadataDocument('oauth-authorization-server', serverMetadata)),
})
