/** The client-authentication parameters every client-authenticated endpoint accepts in its body. */
import * as z from 'zod'

export const ClientAuthFields = {
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_assertion_type: z.string().optional(),
  client_assertion: z.string().optional(),
}
