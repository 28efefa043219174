/** OpenID Provider Metadata — OpenID Connect Discovery 1.0 §4. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { serveDocument } from '../../shared/http/documents.ts'
import { metadataDocument, openIdMetadata } from '../../shared/oauth/discovery.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/openid-configuration',
  answer: serveDocument(metadataDocument('openid-configuration', openIdMetadata)),
})
