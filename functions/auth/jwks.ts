/** JSON Web Key Set — RFC 7517 §5: the next, current and previous keys. */
import { defineFunction } from '../../shared/http/define-function.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/jwks.json',
  // Rendered once per cached key set (KeyStore), cacheable for five minutes.
  document: async ({ org, runtime }) => (await runtime.keys.forOrganization(org.id)).jwks,
})
