/** The person's account page: their sessions and the applications they let in. */
import * as z from 'zod'
import { findApplicationNames } from '../../shared/db/applications.ts'
import { listConsents } from '../../shared/db/authorization.ts'
import { listUserSessions } from '../../shared/db/sessions.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect, withCookies } from '../../shared/http/reply.ts'
import { csrfToken } from '../../shared/oidc/csrf.ts'
import { currentSession } from '../../shared/oidc/sessions.ts'
import { accountPage } from '../../shared/pages/auth-pages.ts'
import { describeDevice } from '../../shared/pages/device.ts'

/** What the last action did (account-action.ts redirects here with `done`). */
const NOTICES = new Map([
  ['revoked', 'Access removed.'],
  ['ended', 'That session is signed out.'],
  ['others', 'All your other sessions are signed out.'],
])

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/account',
  query: z.object({ done: z.string().max(20).optional() }),
  answer: async (ctx) => {
    const live = await currentSession(ctx)
    if (!live) return redirect(`${ctx.org.issuer}/auth/login`, 303)
    const { sessions, apps } = await ctx.db.transaction(async (q) => {
      const consents = await listConsents(q, live.user.id)
      const names = await findApplicationNames(
        q,
        consents.map((c) => c.clientId),
      )
      return {
        sessions: await listUserSessions(q, live.user.id),
        apps: consents.map((c) => ({
          clientId: c.clientId,
          name: names.get(c.clientId) ?? c.clientId,
          scope: c.scope,
        })),
      }
    })
    const devices = await Promise.all(sessions.map((s) => describeDevice(s.userAgent)))
    const csrf = csrfToken(ctx)
    const page = accountPage({
      org: ctx.org,
      csrf: csrf.token,
      email: live.user.email,
      currentSessionId: live.session.id,
      sessions: sessions.map((s, i) => ({ ...s, device: devices[i]! })),
      apps,
      notice: NOTICES.get(ctx.query.done ?? ''),
      now: new Date(),
    })
    return withCookies(page, csrf.cookie)
  },
})
