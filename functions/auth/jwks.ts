/** JSON Web Key Set — RFC 7517 §5: the next, current and previous keys. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { serveDocument } from '../../shared/http/documents.ts'
import type { RequestScope } from '../../shared/request-scope.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/jwks.json',
  // Rendered once per cached key set (KeyStore), cacheable for five minutes.
  answer: serveDocument(
    async (ctx: RequestScope) => (await ctx.runtime.keys.forOrganization(ctx.org.id)).jwks,
  ),
})
