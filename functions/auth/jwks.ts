/** JSON Web Key Set — RFC 7517 §5: the next, current and previous keys. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { reply } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/.well-known/jwks.json',
  handler: async (_c, { org, runtime }) => {
    const { jwksJson } = await runtime.keys.forOrganization(org.id)
    // A key is published a whole rotation period before it signs, so minutes of caching
    // never hide a key that signs.
    return reply(jwksJson, 200, {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=300',
    })
  },
})
